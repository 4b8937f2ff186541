package auction

import (
	"errors"

	"github.com/auction-tui/auction-tui/wire"
)

// Sentinel errors for the rules of the auction protocol. Every rule failure the book reports is a
// *RuleError that unwraps to exactly one of these, so call sites test with errors.Is.
var (
	// ErrUnknownAuction: the entry or bid names an auction no open entry created.
	ErrUnknownAuction = errors.New("auction: unknown auction")
	// ErrAuctionClosed: the auction was already closed.
	ErrAuctionClosed = errors.New("auction: auction closed")
	// ErrOwnAuction: the bidder is the auction's seller.
	ErrOwnAuction = errors.New("auction: bid on own auction")
	// ErrBelowStart: the first bid is below the start price.
	ErrBelowStart = errors.New("auction: bid below start price")
	// ErrNotAboveHighest: a later bid is not above the highest accepted bid.
	ErrNotAboveHighest = errors.New("auction: bid not above highest")
	// ErrNotSeller: someone other than the seller accepted a bid on, or closed, an auction.
	ErrNotSeller = errors.New("auction: not the seller")
	// ErrBadBidSignature: the bid's signature does not verify for the bidder it names.
	ErrBadBidSignature = errors.New("auction: bad bid signature")
	// ErrBadAmount: a bid amount or start price is zero or above wire.MaxAmount.
	ErrBadAmount = errors.New("auction: bad amount")
	// ErrPastDeadline: a bid was accepted after the auction's (possibly extended) deadline.
	ErrPastDeadline = errors.New("auction: past deadline")
	// ErrStaleBid: the bidder's clock in the bid and the seller's acceptance time are more than
	// MaxBidSkew apart, so the bid may be a captured one replayed later.
	ErrStaleBid = errors.New("auction: stale bid")
	// ErrWrongCurrency: an open names a currency other than wire.Currency.
	ErrWrongCurrency = errors.New("auction: wrong currency")
	// ErrWrongWinner: a close names a winner other than the highest accepted bid.
	ErrWrongWinner = errors.New("auction: wrong winner")
	// ErrOutOfOrder: an entry of a log arrived before its predecessor, or again.
	ErrOutOfOrder = errors.New("auction: entry out of order")
	// ErrBadOpen: an open's item fails wire.ValidateItem, or its deadline is not after its own time.
	ErrBadOpen = errors.New("auction: bad open")
	// ErrDuplicateAuction: an open derives an auction id that already exists. With 128-bit ids
	// derived by SHA-256 this needs a hash collision; it is checked so the book never overwrites.
	ErrDuplicateAuction = errors.New("auction: duplicate auction id")
	// ErrBadEntry: the entry is malformed in a way no rule above names: no event or an unknown
	// one, a display name wire.ValidateName refuses, a negative time (see wire.Entry.Validate).
	ErrBadEntry = errors.New("auction: bad entry")
)

// Sentinel errors of Find.
var (
	// ErrNotFound: no auction id starts with the prefix.
	ErrNotFound = errors.New("auction: no such auction")
	// ErrAmbiguous: more than one auction id starts with the prefix.
	ErrAmbiguous = errors.New("auction: ambiguous auction prefix")
	// ErrBadPrefix: the prefix is empty, longer than an id, or not hex.
	ErrBadPrefix = errors.New("auction: bad auction prefix")
)

// RuleError reports an entry or a bid that breaks a rule of the auction protocol. Reason is
// written for users (for example "bid 75 is not above the highest bid 75.5 USDt") and is what
// Error returns; errors.Is matches the rule's sentinel (for example ErrNotAboveHighest).
type RuleError struct {
	Rule    string         // short name of the broken rule, for example "bid-above-highest"
	Auction wire.AuctionID // the auction concerned; zero when none (profiles, ordering)
	Reason  string         // a full sentence for users, without a trailing period
	Err     error          // the sentinel, one of the Err* variables of this package
}

// Error returns the user-facing reason.
func (e *RuleError) Error() string { return e.Reason }

// Unwrap returns the rule's sentinel error.
func (e *RuleError) Unwrap() error { return e.Err }

// ruleName names the rule behind sentinel err, for RuleError.Rule.
func ruleName(err error) string {
	switch err {
	case ErrUnknownAuction:
		return "auction-exists"
	case ErrAuctionClosed:
		return "auction-open"
	case ErrOwnAuction:
		return "bidder-not-seller"
	case ErrBelowStart:
		return "bid-at-least-start"
	case ErrNotAboveHighest:
		return "bid-above-highest"
	case ErrNotSeller:
		return "seller-only"
	case ErrBadBidSignature:
		return "bid-signature"
	case ErrBadAmount:
		return "amount-valid"
	case ErrPastDeadline:
		return "before-deadline"
	case ErrStaleBid:
		return "bid-fresh"
	case ErrWrongCurrency:
		return "currency-usdt"
	case ErrWrongWinner:
		return "winner-is-highest"
	case ErrOutOfOrder:
		return "log-order"
	case ErrBadOpen:
		return "open-valid"
	case ErrDuplicateAuction:
		return "auction-id-unique"
	case ErrBadEntry:
		return "entry-valid"
	}
	return "unknown"
}

// ruleErr builds a *RuleError for sentinel err.
func ruleErr(err error, id wire.AuctionID, reason string) *RuleError {
	return &RuleError{Rule: ruleName(err), Auction: id, Reason: reason, Err: err}
}
