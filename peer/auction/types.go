// Package auction is the auction book: the state of every auction, derived deterministically by
// replaying the peers' logs. It is pure: no I/O, no clocks of its own.
package auction

import (
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Status is an auction's state.
type Status string

// The auction states.
const (
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
)

// SoftClose is the soft-close window: a bid accepted less than this long before an auction's
// deadline moves the deadline to the bid's acceptance time plus SoftClose.
const SoftClose = 30 * time.Second

// Bid is an accepted bid as the book sees it.
type Bid struct {
	Bidder     wire.PeerKey
	BidderName string // from the bidder's latest profile entry; empty if none is known yet
	Amount     wire.Amount
	PlacedAt   time.Time // the bidder's clock when it signed
	AcceptedAt time.Time // the seller's clock when it appended the acceptance
	Index      uint64    // index of the bid-accepted entry in the seller's log
	Signed     wire.SignedBid
}

// Auction is one auction's state. Values returned by the book are snapshots: safe to keep and to
// read from any goroutine while the book goes on changing. To stay cheap, a snapshot's Bids slice
// shares its backing array with the book (capped at its length, so appending to it copies):
// never write its elements in place; copy the slice first (slices.Clone) to edit.
type Auction struct {
	ID         wire.AuctionID
	Item       string
	Seller     wire.PeerKey
	SellerName string
	Price      wire.Amount // start price
	Currency   string
	Status     Status
	Bids       []Bid     // accepted bids, oldest first
	OpenedAt   time.Time // the seller's clock at open
	EndsAt     time.Time // zero for an auction closed by hand; extended by soft close
	ClosedAt   time.Time // zero while open
	Winner     *Bid      // set when closed with a winner
	OpenIndex  uint64    // index of the open entry in the seller's log
}

// Highest returns the highest accepted bid, or nil when there is none.
func (a *Auction) Highest() *Bid {
	if len(a.Bids) == 0 {
		return nil
	}
	return &a.Bids[len(a.Bids)-1]
}

// MinNextBid returns the smallest amount the next bid may carry: the start price when there are no
// bids, otherwise one micro-USDt above the highest bid.
func (a *Auction) MinNextBid() wire.Amount {
	if h := a.Highest(); h != nil {
		return h.Amount + 1
	}
	return a.Price
}

// MaxBidSkew is the largest difference allowed between a bid's own time (the bidder's clock when
// it signed) and the time its seller accepted it (the bid-accepted entry's time). It bounds how
// long a captured signed bid stays usable: a seller cannot replay it much later.
const MaxBidSkew = 2 * time.Minute

// ChangeKind tells what an applied entry changed.
type ChangeKind int

// The kinds of change, one per event type.
const (
	ChangeProfile ChangeKind = iota + 1 // a writer published its display name
	ChangeOpened                        // an auction was opened
	ChangeBid                           // a bid was accepted
	ChangeClosed                        // an auction was closed
)

// String returns the kind in lowercase, for example "bid".
func (k ChangeKind) String() string {
	switch k {
	case ChangeProfile:
		return "profile"
	case ChangeOpened:
		return "opened"
	case ChangeBid:
		return "bid"
	case ChangeClosed:
		return "closed"
	}
	return "unknown"
}

// Change describes what one applied entry changed.
type Change struct {
	Kind    ChangeKind
	Writer  wire.PeerKey // the log the entry belongs to
	Index   uint64       // the entry's index in Writer's log
	Name    string       // ChangeProfile: the writer's new display name
	Auction Auction      // ChangeOpened, ChangeBid, ChangeClosed: the auction's state after the entry
	Bid     *Bid         // ChangeBid: the accepted bid; ChangeClosed: the winner, or nil
}
