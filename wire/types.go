package wire

// This file declares the protocol's value types. Their encodings live in amount.go, bid.go,
// entry.go and replication.go.

// Amount is a USDt amount in integer micro-USDt (1 USDt = 1,000,000 micro-USDt).
type Amount uint64

// MicroPerUSDt is the number of micro-USDt in one USDt: amounts carry exactly 6 decimals.
const MicroPerUSDt = 1_000_000

// MaxAmount is the largest amount accepted anywhere: one billion USDt.
const MaxAmount Amount = 1_000_000_000 * MicroPerUSDt

// Currency is the only currency of protocol version 1.
const Currency = "USDt"

// AuctionIDSize is the size of an auction id, in bytes (printed as 32 lowercase hex digits).
const AuctionIDSize = 16

// AuctionID names an auction: derived from the seller's key and the index of its open entry
// in the seller's log (see DeriveAuctionID), so every peer computes the same id.
type AuctionID [AuctionIDSize]byte

// EventType tags the event an entry carries.
type EventType uint8

// The event types of protocol version 1.
const (
	EventProfile EventType = 1 // the writer's display name
	EventOpen    EventType = 2 // the writer opens an auction
	EventBid     EventType = 3 // the writer (a seller) accepted a bidder-signed bid
	EventClose   EventType = 4 // the writer closes one of its auctions
)

// Entry is one record of a peer's append-only log: the writer's clock at append time and one event.
type Entry struct {
	// Time is the writer's clock when it appended the entry, in Unix milliseconds.
	Time int64
	// Event is exactly one of *Profile, *Open, *BidAccepted or *Close.
	Event Event
}

// Event is the payload of an Entry: one of *Profile, *Open, *BidAccepted or *Close.
type Event interface{ Type() EventType }

// Profile publishes the writer's display name (at most MaxNameLen bytes of UTF-8).
type Profile struct {
	Name string
}

// Open opens an auction sold by the writer.
type Open struct {
	Item     string // at most MaxItemLen bytes of UTF-8
	Price    Amount // start price; the first bid must be at least this
	Currency string // always Currency in version 1
	EndsAt   int64  // deadline in Unix milliseconds, or 0 for an auction closed by hand
}

// BidAccepted records that the writer, the auction's seller, accepted a bidder-signed bid. The
// entry's Time is the acceptance time, used for soft-close extension.
type BidAccepted struct {
	Bid SignedBid
}

// Close closes an auction of the writer's, naming the winning bid or none.
type Close struct {
	Auction AuctionID
	Winner  *SignedBid // nil when the auction closed with no bids
}

// Bid is a bidder's offer: signed by the bidder, sequenced by the seller.
type Bid struct {
	Auction AuctionID
	Amount  Amount
	Bidder  PeerKey
	Time    int64 // the bidder's clock, in Unix milliseconds
}

// SignedBid is a Bid signed by its bidder under DomainBid.
type SignedBid struct {
	Bid
	Sig Signature
}

// Type returns EventProfile.
func (*Profile) Type() EventType { return EventProfile }

// Type returns EventOpen.
func (*Open) Type() EventType { return EventOpen }

// Type returns EventBid.
func (*BidAccepted) Type() EventType { return EventBid }

// Type returns EventClose.
func (*Close) Type() EventType { return EventClose }
