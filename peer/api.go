package peer

import (
	"time"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
)

// EventKind tells what an Event reports.
type EventKind int

// The kinds of engine events, in the order the design lists them.
const (
	EventPeerConnected EventKind = iota + 1
	EventPeerDisconnected
	EventAuctionOpened
	EventBidAccepted
	EventAuctionClosed
	EventEquivocation // a peer signed two inconsistent heads; Peer names it
	EventSync         // replication progress; Sync holds the figures
)

// String returns the event kind in the headless protocol's spelling, for example "bid_accepted".
func (k EventKind) String() string {
	switch k {
	case EventPeerConnected:
		return "peer_connected"
	case EventPeerDisconnected:
		return "peer_disconnected"
	case EventAuctionOpened:
		return "auction_opened"
	case EventBidAccepted:
		return "bid_accepted"
	case EventAuctionClosed:
		return "auction_closed"
	case EventEquivocation:
		return "equivocation"
	case EventSync:
		return "sync"
	}
	return "unknown"
}

// PeerInfo describes a market peer as this node sees it.
type PeerInfo struct {
	Key         wire.PeerKey
	Name        string // from the peer's latest profile entry; empty until known
	Addr        string // HOST:PORT last seen, empty if never connected
	Connected   bool
	RTT         time.Duration // smoothed QUIC round trip; zero when not connected
	LogLength   uint64        // entries of the peer's log held here, verified
	Equivocated bool          // the peer signed two inconsistent heads
}

// SyncProgress reports replication: entries held and verified against entries known to exist.
type SyncProgress struct {
	Have uint64 // entries held and verified, all logs
	Want uint64 // entries announced by signed heads, all logs
}

// Synced reports whether every announced entry is held.
func (s SyncProgress) Synced() bool { return s.Have >= s.Want }

// Event is one engine event. Kind says which fields are set.
type Event struct {
	Kind    EventKind
	Time    time.Time
	Peer    PeerInfo        // peer events and EventEquivocation
	Auction auction.Auction // auction events: the auction's state after the event
	Bid     auction.Bid     // EventBidAccepted: the accepted bid
	Sync    SyncProgress    // EventSync
}

// Stats is a snapshot of the node's network state for the status bar.
type Stats struct {
	DHTNodes  int // nodes in the routing table
	Peers     int // market peers known
	Connected int // market peers connected now
	Sync      SyncProgress
	Fetch     FetchStats // fetch requests sent since the node started
	// DialRestarts counts dials whose handshake started over because the path to the peer came
	// back while they waited (rpc.Stats.DialRestarts).
	DialRestarts uint64
	// DigestRetries counts heads-exchange digests sent again on a fresh stream because an
	// attempt went unanswered (a partition, or a peer that stopped answering).
	DigestRetries uint64
}

// FetchStats counts the fetch requests a node sent since it started, by why they went out. Every
// request beyond the first of a range is a duplicate transfer if the first one answers too, so
// Hedged+Nudged against Requests is what hedging costs.
type FetchStats struct {
	Requests uint64 // every fetch request sent, the first of each range included
	Hedged   uint64 // requests sent to another holder after the first had no answer in time
	Nudged   uint64 // requests sent to a peer that showed the log while a request was waiting
}
