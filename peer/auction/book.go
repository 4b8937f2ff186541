package auction

import (
	"bytes"
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Book is the state of every auction, derived by replaying the peers' logs with Apply. It is
// deterministic: books fed the same logs, in any interleaving of the logs, reach the same state.
//
// A Book is safe for concurrent use: Apply takes a write lock, queries a read lock. The book keeps
// no clock of its own; callers pass the time where a rule needs it.
//
// Memory stays bounded however long the logs grow: the book holds every open auction but only the
// most recently closed ones (DefaultClosedKept; see WithClosedKept). The closed auctions it drops
// are the oldest by closing time (the close entry's Time, then id), so books fed the same logs
// still hold the same auctions once they have applied every entry, in whatever order. A dropped
// auction stays in its seller's signed log; the book answers for it as for an id it never saw
// (ErrUnknownAuction, ErrNotFound), and no rule outcome changes: a later entry can neither bid
// on nor close an auction that is already closed.
type Book struct {
	mu        sync.RWMutex
	next      map[wire.PeerKey]uint64                           // per log: index of the next entry to apply
	names     map[wire.PeerKey]string                           // per writer: latest profile name
	auctions  map[wire.AuctionID]*auctionState                  // every auction, by id
	order     []*auctionState                                   // every auction, by OpenedAt then id when sorted
	sorted    bool                                              // order is sorted
	bidderOf  map[wire.PeerKey][]*auctionState                  // per bidder: auctions it has accepted bids in
	openTimed map[wire.PeerKey]map[wire.AuctionID]*auctionState // per seller: its open auctions with a deadline
	closed    closedHeap                                        // the closed auctions kept, oldest close first
	keep      int                                               // how many closed auctions to keep; < 0: all
	dropped   int                                               // dropped auctions still in order
	everDrop  bool                                              // some closed auction was dropped
}

// DefaultClosedKept is how many closed auctions a Book keeps by default: the 1,000 most recently
// closed. With about 1 KiB per auction and its bids, that bounds a book's closed history to about
// 1 MiB, and it is more than a dashboard shows.
const DefaultClosedKept = 1000

// Option configures a Book.
type Option func(*Book)

// WithClosedKept sets how many closed auctions the book keeps (default DefaultClosedKept); n < 0
// keeps every closed auction, so memory grows with the logs (for tools that check a whole
// history). n = 0 drops an auction as soon as it closes (the change that closes it still carries
// its final state).
func WithClosedKept(n int) Option {
	return func(b *Book) { b.keep = n }
}

// auctionState is the book's record of one auction.
//
// st.a.Bids only ever grows by append, and an element below len is never written again: a name
// change copies the slice first. So a snapshot can share the backing array through a capped
// slice a.Bids[:n:n] with no per-bid copying.
type auctionState struct {
	a        Auction                   // SellerName and Winner are filled by snapshot
	openedAt int64                     // OpenedAt in Unix ms
	endsAt   int64                     // EndsAt in Unix ms, 0 for an auction closed by hand
	hex      string                    // a.ID as lowercase hex, for Find
	bidders  map[wire.PeerKey]struct{} // bidders with an accepted bid here
	closedAt int64                     // ClosedAt in Unix ms, once closed
	dropped  bool                      // dropped from the book's closed history
}

// closedHeap is a min-heap of closed auctions by (closedAt, id): the root is the one to drop next.
type closedHeap []*auctionState

func (h closedHeap) Len() int { return len(h) }
func (h closedHeap) Less(i, j int) bool {
	if h[i].closedAt != h[j].closedAt {
		return h[i].closedAt < h[j].closedAt
	}
	return bytes.Compare(h[i].a.ID[:], h[j].a.ID[:]) < 0
}
func (h closedHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *closedHeap) Push(x any)   { *h = append(*h, x.(*auctionState)) }
func (h *closedHeap) Pop() any {
	old := *h
	st := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return st
}

// NewBook returns an empty book.
func NewBook(opts ...Option) *Book {
	b := &Book{
		next:      make(map[wire.PeerKey]uint64),
		names:     make(map[wire.PeerKey]string),
		auctions:  make(map[wire.AuctionID]*auctionState),
		sorted:    true,
		bidderOf:  make(map[wire.PeerKey][]*auctionState),
		openTimed: make(map[wire.PeerKey]map[wire.AuctionID]*auctionState),
		keep:      DefaultClosedKept,
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Apply applies entry index of writer's log and reports what changed.
//
// Entries of one log must arrive in order: index 0 first, then each index one above the last
// applied one. Any other index returns a *RuleError wrapping ErrOutOfOrder and consumes nothing.
// Logs may interleave in any way.
//
// Every rule and signature is checked. An entry that breaks a rule returns a *RuleError wrapping
// the rule's sentinel and changes no auction, but its index still counts as applied: the log is
// what its writer signed, and every peer ignores the same entry in the same way, so every peer
// still reaches the same state. The rules are:
//   - Every entry passes wire.Entry.Validate (else ErrBadEntry, unless a rule below names it).
//   - Profile sets the writer's display name (wire.ValidateName).
//   - Open creates the auction wire.DeriveAuctionID(writer, index). Currency must be wire.Currency,
//     the start price a valid amount, the item pass wire.ValidateItem, and EndsAt be 0 or after
//     the entry's Time.
//   - BidAccepted: the auction exists, the writer is its seller, the bidder is not, the auction
//     is open and, if timed, the entry's Time is not after EndsAt; the amount is valid, at least
//     the start price for the first bid and above the highest bid for later ones; the bid's Time
//     is within MaxBidSkew of the entry's Time; the bid's signature verifies. A bid accepted less
//     than SoftClose before EndsAt moves EndsAt to the acceptance time plus SoftClose.
//   - Close: the auction exists, the writer is its seller, it is open, and Winner is exactly the
//     highest accepted bid (nil when there is none).
func (b *Book) Apply(writer wire.PeerKey, index uint64, e wire.Entry) (Change, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.apply(writer, index, e, sigUnknown)
}

// Result is the outcome of one entry applied by ApplyLog: its change, or the rule it broke.
type Result struct {
	Change Change
	Err    error
}

// MaxVerifyWorkers bounds the goroutines ApplyLog verifies signatures on; it also uses no more
// than runtime.GOMAXPROCS(0).
const MaxVerifyWorkers = 16

// minVerifyChunk is the fewest bids one ApplyLog verification goroutine is given.
const minVerifyChunk = 64

// ApplyLog applies entries, which are entries first, first+1, ... of writer's log, exactly as
// that many calls of Apply would, and returns one Result per entry. It first verifies the bid
// signatures the entries carry on up to min(GOMAXPROCS, MaxVerifyWorkers) goroutines, before
// taking the book's lock, so replaying a stored or fetched range of a log costs about
// 1/GOMAXPROCS of the time Apply would. Every goroutine it starts has returned when it returns.
func (b *Book) ApplyLog(writer wire.PeerKey, first uint64, entries []wire.Entry) []Result {
	sigs := verifyBids(entries)
	out := make([]Result, len(entries))
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, e := range entries {
		out[i].Change, out[i].Err = b.apply(writer, first+uint64(i), e, sigs[i])
	}
	return out
}

// sigVerdict is what is known of a bid's signature before the rules run.
type sigVerdict int8

const (
	sigUnknown sigVerdict = iota // not verified yet: the rules verify it
	sigGood                      // verified
	sigBad                       // verified, and it does not verify
)

// verifyBids verifies the bid signature of every bid-accepted entry, in parallel.
func verifyBids(entries []wire.Entry) []sigVerdict {
	sigs := make([]sigVerdict, len(entries))
	var idx []int
	for i, e := range entries {
		if ba, ok := e.Event.(*wire.BidAccepted); ok && ba != nil {
			idx = append(idx, i)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), MaxVerifyWorkers, (len(idx)+minVerifyChunk-1)/minVerifyChunk)
	verify := func(part []int) {
		bids := make([]wire.SignedBid, len(part))
		for j, i := range part {
			bids[j] = entries[i].Event.(*wire.BidAccepted).Bid
		}
		for j, good := range wire.VerifyBids(bids) {
			sigs[part[j]] = sigBad
			if good {
				sigs[part[j]] = sigGood
			}
		}
	}
	if workers <= 1 {
		verify(idx)
		return sigs
	}
	var wg sync.WaitGroup
	chunk := (len(idx) + workers - 1) / workers
	for start := 0; start < len(idx); start += chunk {
		part := idx[start:min(start+chunk, len(idx))]
		wg.Go(func() { verify(part) })
	}
	wg.Wait()
	return sigs
}

// apply applies one entry; sig says what is already known of a bid's signature.
func (b *Book) apply(writer wire.PeerKey, index uint64, e wire.Entry, sig sigVerdict) (Change, error) {
	if next := b.next[writer]; index != next {
		what := "arrived before entry " + fmt.Sprint(next)
		if index < next {
			what = "was already applied"
		}
		return Change{}, ruleErr(ErrOutOfOrder, wire.AuctionID{},
			fmt.Sprintf("entry %d of log %s %s", index, writer.Short(), what))
	}
	b.next[writer] = index + 1
	ch := Change{Writer: writer, Index: index}
	switch ev := e.Event.(type) {
	case *wire.Profile:
		if ev == nil {
			break
		}
		if err := validate(writer, index, &e); err != nil {
			return Change{}, err
		}
		b.setName(writer, ev.Name)
		ch.Kind, ch.Name = ChangeProfile, ev.Name
		return ch, nil
	case *wire.Open:
		if ev == nil {
			break
		}
		if err := checkOpen(ev, e.Time); err != nil {
			return Change{}, err
		}
		if err := validate(writer, index, &e); err != nil {
			return Change{}, err
		}
		st, err := b.open(writer, index, e.Time, ev)
		if err != nil {
			return Change{}, err
		}
		ch.Kind, ch.Auction = ChangeOpened, b.snapshot(st)
		return ch, nil
	case *wire.BidAccepted:
		if ev == nil {
			break
		}
		st, err := b.checkBid(writer, &ev.Bid, e.Time, false, sig)
		if err != nil {
			return Change{}, err
		}
		if err := validate(writer, index, &e); err != nil {
			return Change{}, err
		}
		bid := b.accept(st, index, e.Time, ev.Bid)
		ch.Kind, ch.Auction, ch.Bid = ChangeBid, b.snapshot(st), &bid
		return ch, nil
	case *wire.Close:
		if ev == nil {
			break
		}
		st, err := b.checkClose(writer, ev.Auction, ev.Winner, false)
		if err != nil {
			return Change{}, err
		}
		if err := validate(writer, index, &e); err != nil {
			return Change{}, err
		}
		b.close(st, e.Time)
		ch.Kind, ch.Auction = ChangeClosed, b.snapshot(st)
		if ch.Auction.Winner != nil {
			w := *ch.Auction.Winner
			ch.Bid = &w
		}
		b.trimClosed()
		return ch, nil
	}
	return Change{}, badEntry(writer, index, e.Validate())
}

// validate runs wire.Entry.Validate, the catch-all for what the specific rules do not cover.
func validate(writer wire.PeerKey, index uint64, e *wire.Entry) error {
	if err := e.Validate(); err != nil {
		return badEntry(writer, index, err)
	}
	return nil
}

// badEntry reports entry index of writer's log as malformed because of err.
func badEntry(writer wire.PeerKey, index uint64, err error) error {
	reason := "no known event"
	var de *wire.DecodeError
	if errors.As(err, &de) {
		reason = de.Reason
	}
	return ruleErr(ErrBadEntry, wire.AuctionID{},
		fmt.Sprintf("entry %d of log %s is malformed: %s", index, writer.Short(), reason))
}

// CheckVerifiedBid is CheckBid for a bid whose signature the caller has already verified with
// wire.SignedBid.Verify: it checks the rules only, so a sequencer holding a lock does not pay for
// a second signature check.
func (b *Book) CheckVerifiedBid(seller wire.PeerKey, sb wire.SignedBid, now time.Time) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, err := b.checkBid(seller, &sb, now.UnixMilli(), true, sigGood)
	return err
}

// ApplyLogVerified is ApplyLog for entries whose bid signatures the caller has already checked:
// verified[i] reports the verdict for entries[i] (ignored for entries that carry no bid), as
// wire.VerifyBids returns it. It lets the caller verify outside its own locks.
func (b *Book) ApplyLogVerified(writer wire.PeerKey, first uint64, entries []wire.Entry, verified []bool) []Result {
	out := make([]Result, len(entries))
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, e := range entries {
		sig := sigBad
		if i < len(verified) && verified[i] {
			sig = sigGood
		}
		out[i].Change, out[i].Err = b.apply(writer, first+uint64(i), e, sig)
	}
	return out
}

// CheckBid reports whether seller, the local peer, may accept sb now: the same rules Apply checks
// for a bid-accepted entry whose Time is now.UnixMilli(), so the engine must append the entry with
// exactly that Time. It returns nil or a *RuleError whose Reason is meant for the bidder.
func (b *Book) CheckBid(seller wire.PeerKey, sb wire.SignedBid, now time.Time) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, err := b.checkBid(seller, &sb, now.UnixMilli(), true, sigUnknown)
	return err
}

// CheckClose reports whether seller, the local peer, may close auction id, and returns the winner
// to name in the close entry: a copy of the highest accepted bid, or nil when there is none.
func (b *Book) CheckClose(seller wire.PeerKey, id wire.AuctionID) (*wire.SignedBid, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	st, err := b.checkClose(seller, id, nil, true)
	if err != nil {
		return nil, err
	}
	if n := len(st.a.Bids); n > 0 {
		w := st.a.Bids[n-1].Signed
		return &w, nil
	}
	return nil, nil
}

// CheckOpen reports whether an open entry carrying o, appended now, would be accepted. It returns
// nil or a *RuleError (ErrWrongCurrency, ErrBadAmount or ErrBadOpen) with a user-facing reason.
// The engine must append the entry with Time now.UnixMilli().
func (b *Book) CheckOpen(o wire.Open, now time.Time) error {
	return checkOpen(&o, now.UnixMilli())
}

// Applied returns how many entries of writer's log the book has consumed, accepted or rejected:
// the index Apply expects next for that log.
func (b *Book) Applied(writer wire.PeerKey) uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.next[writer]
}

// Auction returns a snapshot of auction id, and whether it exists.
func (b *Book) Auction(id wire.AuctionID) (Auction, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	st, ok := b.auctions[id]
	if !ok {
		return Auction{}, false
	}
	return b.snapshot(st), true
}

// Auctions returns snapshots of every auction the book holds (see Book), ordered by OpenedAt then by id. It costs
// O(auctions): the snapshots share their Bids backing arrays with the book (read-only; appending
// to a snapshot's Bids copies).
func (b *Book) Auctions() []Auction {
	b.mu.RLock()
	if b.sorted {
		defer b.mu.RUnlock()
		return b.snapshotAll()
	}
	b.mu.RUnlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sortOrder()
	return b.snapshotAll()
}

// Len returns the number of auctions the book holds: every open one and the closed ones kept.
func (b *Book) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.order) - b.dropped
}

// Find returns the one auction whose id, in hex, starts with prefix: 1 to 2*wire.AuctionIDSize
// hex digits, either case. It returns ErrBadPrefix for anything else, ErrNotFound when no id
// matches, and an error wrapping ErrAmbiguous, with the count, when several do.
func (b *Book) Find(prefix string) (Auction, error) {
	if len(prefix) == 0 || len(prefix) > 2*wire.AuctionIDSize {
		return Auction{}, fmt.Errorf("%w: %q must be 1 to %d hex digits", ErrBadPrefix, prefix, 2*wire.AuctionIDSize)
	}
	p := strings.ToLower(prefix)
	for i := 0; i < len(p); i++ {
		if c := p[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Auction{}, fmt.Errorf("%w: %q is not hex", ErrBadPrefix, prefix)
		}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	var found *auctionState
	n := 0
	for _, st := range b.order {
		if !st.dropped && strings.HasPrefix(st.hex, p) {
			found = st
			n++
		}
	}
	switch n {
	case 0:
		if b.everDrop {
			return Auction{}, fmt.Errorf("%w: no auction id starts with %q among the open auctions and the %d most recently closed",
				ErrNotFound, p, b.keep)
		}
		return Auction{}, fmt.Errorf("%w: no auction id starts with %q", ErrNotFound, p)
	case 1:
		return b.snapshot(found), nil
	}
	return Auction{}, fmt.Errorf("%w: %d auction ids start with %q", ErrAmbiguous, n, p)
}

// Name returns key's display name from its latest profile entry, or "" when none is known.
func (b *Book) Name(key wire.PeerKey) string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.names[key]
}

// Due returns seller's open auctions whose deadline (EndsAt, after soft-close extensions) is at
// or before now: the auctions the seller's peer must close. They are ordered by deadline, then id.
func (b *Book) Due(now time.Time, seller wire.PeerKey) []wire.AuctionID {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ms := now.UnixMilli()
	var due []*auctionState
	for _, st := range b.openTimed[seller] {
		if st.endsAt <= ms {
			due = append(due, st)
		}
	}
	slices.SortFunc(due, func(x, y *auctionState) int {
		if c := cmp.Compare(x.endsAt, y.endsAt); c != 0 {
			return c
		}
		return bytes.Compare(x.a.ID[:], y.a.ID[:])
	})
	ids := make([]wire.AuctionID, len(due))
	for i, st := range due {
		ids[i] = st.a.ID
	}
	return ids
}

// NextDeadline returns the earliest deadline among seller's open timed auctions, and false when
// it has none: the engine sleeps until then (the deadline may move later through soft close).
func (b *Book) NextDeadline(seller wire.PeerKey) (time.Time, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var min int64
	found := false
	for _, st := range b.openTimed[seller] {
		if !found || st.endsAt < min {
			min, found = st.endsAt, true
		}
	}
	if !found {
		return time.Time{}, false
	}
	return msTime(min), true
}

// msTime converts Unix milliseconds to a UTC time.
func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// setName records writer's display name and refreshes BidderName in the auctions it bid on.
// Those Bids slices are copied, never written in place, since snapshots share them.
func (b *Book) setName(writer wire.PeerKey, name string) {
	if old, ok := b.names[writer]; ok && old == name {
		return
	}
	b.names[writer] = name
	for _, st := range b.bidderOf[writer] {
		bids := slices.Clone(st.a.Bids)
		for i := range bids {
			if bids[i].Bidder == writer {
				bids[i].BidderName = name
			}
		}
		st.a.Bids = bids
	}
}

// checkOpen checks the rules of an open entry appended at Unix ms t.
func checkOpen(o *wire.Open, t int64) error {
	switch {
	case o.Currency != wire.Currency:
		return ruleErr(ErrWrongCurrency, wire.AuctionID{},
			fmt.Sprintf("the currency must be %s, not %q", wire.Currency, o.Currency))
	case o.Price.Valid() != nil:
		return ruleErr(ErrBadAmount, wire.AuctionID{},
			fmt.Sprintf("the start price must be more than 0 and at most %s %s", wire.MaxAmount, wire.Currency))
	case o.EndsAt < 0 || (o.EndsAt != 0 && o.EndsAt <= t):
		return ruleErr(ErrBadOpen, wire.AuctionID{},
			fmt.Sprintf("the end time %s is not after the opening time %s", fmtMS(o.EndsAt), fmtMS(t)))
	}
	if err := wire.ValidateItem(o.Item); err != nil {
		reason := err.Error()
		var de *wire.DecodeError
		if errors.As(err, &de) {
			reason = de.Reason
		}
		return ruleErr(ErrBadOpen, wire.AuctionID{}, "the item name is not acceptable: "+reason)
	}
	return nil
}

// open applies an open entry.
func (b *Book) open(writer wire.PeerKey, index uint64, t int64, o *wire.Open) (*auctionState, error) {
	id := wire.DeriveAuctionID(writer, index)
	if _, ok := b.auctions[id]; ok {
		return nil, ruleErr(ErrDuplicateAuction, id, fmt.Sprintf("auction %s already exists", id))
	}
	st := &auctionState{
		a: Auction{
			ID:        id,
			Item:      o.Item,
			Seller:    writer,
			Price:     o.Price,
			Currency:  o.Currency,
			Status:    StatusOpen,
			OpenedAt:  msTime(t),
			OpenIndex: index,
		},
		openedAt: t,
		endsAt:   o.EndsAt,
		hex:      id.String(),
	}
	if o.EndsAt != 0 {
		st.a.EndsAt = msTime(o.EndsAt)
		m := b.openTimed[writer]
		if m == nil {
			m = make(map[wire.AuctionID]*auctionState)
			b.openTimed[writer] = m
		}
		m[id] = st
	}
	b.auctions[id] = st
	if n := len(b.order); b.sorted && n > 0 && lessState(st, b.order[n-1]) {
		b.sorted = false
	}
	b.order = append(b.order, st)
	return st, nil
}

// checkBid checks the rules of seller accepting sb at Unix ms t. local words the reasons for the
// seller's own pre-append check. The signature is verified last, after the cheap checks, unless
// sig already says how it verifies.
func (b *Book) checkBid(seller wire.PeerKey, sb *wire.SignedBid, t int64, local bool, sig sigVerdict) (*auctionState, error) {
	id := sb.Auction
	st, ok := b.auctions[id]
	if !ok {
		return nil, ruleErr(ErrUnknownAuction, id, fmt.Sprintf("auction %s is unknown", id))
	}
	a := &st.a
	switch {
	case a.Seller != seller && local:
		return nil, ruleErr(ErrNotSeller, id, fmt.Sprintf("auction %s is sold by another peer: only its seller accepts bids", id))
	case a.Seller != seller:
		return nil, ruleErr(ErrNotSeller, id, fmt.Sprintf("a bid on auction %s was accepted by someone other than the seller", id))
	case sb.Bidder == seller:
		return nil, ruleErr(ErrOwnAuction, id, "the seller cannot bid on its own auction")
	case a.Status != StatusOpen:
		return nil, ruleErr(ErrAuctionClosed, id, fmt.Sprintf("auction %s is closed", id))
	case st.endsAt != 0 && t > st.endsAt:
		return nil, ruleErr(ErrPastDeadline, id, fmt.Sprintf("auction %s ended at %s", id, fmtMS(st.endsAt)))
	case sb.Amount.Valid() != nil:
		return nil, ruleErr(ErrBadAmount, id,
			fmt.Sprintf("a bid must be more than 0 and at most %s %s", wire.MaxAmount, wire.Currency))
	}
	if n := len(a.Bids); n == 0 {
		if sb.Amount < a.Price {
			return nil, ruleErr(ErrBelowStart, id, fmt.Sprintf("the first bid must be at least %s %s", a.Price, a.Currency))
		}
	} else if h := a.Bids[n-1].Amount; sb.Amount <= h {
		return nil, ruleErr(ErrNotAboveHighest, id,
			fmt.Sprintf("bid %s is not above the highest bid %s %s", sb.Amount, h, a.Currency))
	}
	if skew := absDiff(t, sb.Time); skew > uint64(MaxBidSkew.Milliseconds()) {
		return nil, ruleErr(ErrStaleBid, id, fmt.Sprintf(
			"the bid was signed %s away from the seller's clock (at most %s allowed): check the bidder's clock and bid again",
			fmtSkew(skew), MaxBidSkew))
	}
	if sig == sigBad || (sig == sigUnknown && sb.Verify() != nil) {
		return nil, ruleErr(ErrBadBidSignature, id,
			fmt.Sprintf("the bid's signature does not verify for bidder %s", sb.Bidder.Short()))
	}
	return st, nil
}

// accept records an accepted bid (already checked) and applies soft close.
func (b *Book) accept(st *auctionState, index uint64, t int64, sb wire.SignedBid) Bid {
	bid := Bid{
		Bidder:     sb.Bidder,
		BidderName: b.names[sb.Bidder],
		Amount:     sb.Amount,
		PlacedAt:   msTime(sb.Time),
		AcceptedAt: msTime(t),
		Index:      index,
		Signed:     sb,
	}
	st.a.Bids = append(st.a.Bids, bid)
	if st.endsAt != 0 && st.endsAt-t < SoftClose.Milliseconds() {
		st.endsAt = t + SoftClose.Milliseconds()
		if t > math.MaxInt64-SoftClose.Milliseconds() {
			st.endsAt = math.MaxInt64
		}
		st.a.EndsAt = msTime(st.endsAt)
	}
	if st.bidders == nil {
		st.bidders = make(map[wire.PeerKey]struct{})
	}
	if _, ok := st.bidders[sb.Bidder]; !ok {
		st.bidders[sb.Bidder] = struct{}{}
		b.bidderOf[sb.Bidder] = append(b.bidderOf[sb.Bidder], st)
	}
	return bid
}

// checkClose checks the rules of writer closing auction id naming winner. With local set, the
// winner is not checked (CheckClose computes it) and the reasons address the local user.
func (b *Book) checkClose(writer wire.PeerKey, id wire.AuctionID, winner *wire.SignedBid, local bool) (*auctionState, error) {
	st, ok := b.auctions[id]
	if !ok {
		return nil, ruleErr(ErrUnknownAuction, id, fmt.Sprintf("auction %s is unknown", id))
	}
	a := &st.a
	switch {
	case a.Seller != writer && local:
		return nil, ruleErr(ErrNotSeller, id, fmt.Sprintf("auction %s is not yours: only its seller can close it", id))
	case a.Seller != writer:
		return nil, ruleErr(ErrNotSeller, id, fmt.Sprintf("auction %s was closed by someone other than the seller", id))
	case a.Status != StatusOpen:
		return nil, ruleErr(ErrAuctionClosed, id, fmt.Sprintf("auction %s is already closed", id))
	}
	if local {
		return st, nil
	}
	n := len(a.Bids)
	switch {
	case n == 0 && winner != nil:
		return nil, ruleErr(ErrWrongWinner, id,
			fmt.Sprintf("the close of auction %s names a winner but the auction has no bids", id))
	case n > 0 && winner == nil:
		h := &a.Bids[n-1]
		return nil, ruleErr(ErrWrongWinner, id, fmt.Sprintf(
			"the close of auction %s names no winner but the highest bid is %s %s by %s", id, h.Amount, a.Currency, h.Bidder.Short()))
	case n > 0 && *winner != a.Bids[n-1].Signed:
		h := &a.Bids[n-1]
		return nil, ruleErr(ErrWrongWinner, id, fmt.Sprintf(
			"the close of auction %s names %s %s by %s but the highest bid is %s %s by %s",
			id, winner.Amount, a.Currency, winner.Bidder.Short(), h.Amount, a.Currency, h.Bidder.Short()))
	}
	return st, nil
}

// close closes an auction (already checked) at Unix ms t.
func (b *Book) close(st *auctionState, t int64) {
	st.a.Status = StatusClosed
	st.a.ClosedAt = msTime(t)
	st.closedAt = t
	if b.keep >= 0 {
		heap.Push(&b.closed, st)
	}
	if m := b.openTimed[st.a.Seller]; m != nil {
		delete(m, st.a.ID)
		if len(m) == 0 {
			delete(b.openTimed, st.a.Seller)
		}
	}
}

// trimClosed drops the oldest closed auctions beyond the number kept.
func (b *Book) trimClosed() {
	if b.keep < 0 {
		return
	}
	for len(b.closed) > b.keep {
		b.drop(heap.Pop(&b.closed).(*auctionState))
	}
}

// drop removes closed auction st from the book: from the id index, its bidders' lists and, in
// batches, from b.order.
func (b *Book) drop(st *auctionState) {
	delete(b.auctions, st.a.ID)
	for bidder := range st.bidders {
		list := slices.DeleteFunc(b.bidderOf[bidder], func(x *auctionState) bool { return x == st })
		if len(list) == 0 {
			delete(b.bidderOf, bidder)
		} else {
			b.bidderOf[bidder] = list
		}
	}
	st.dropped = true
	b.dropped++
	b.everDrop = true
	if b.dropped > len(b.order)/2 {
		b.order = slices.DeleteFunc(b.order, func(x *auctionState) bool { return x.dropped })
		b.dropped = 0
	}
}

// snapshot returns a copy of st's auction with names filled in. The Bids slice shares st's
// backing array, capped so that an append by the caller copies.
func (b *Book) snapshot(st *auctionState) Auction {
	a := st.a
	a.SellerName = b.names[a.Seller]
	n := len(a.Bids)
	a.Bids = a.Bids[:n:n]
	if a.Status == StatusClosed && n > 0 {
		w := a.Bids[n-1]
		a.Winner = &w
	}
	return a
}

// snapshotAll returns snapshots of the auctions in b.order, which must be sorted.
func (b *Book) snapshotAll() []Auction {
	out := make([]Auction, 0, len(b.order)-b.dropped)
	for _, st := range b.order {
		if !st.dropped {
			out = append(out, b.snapshot(st))
		}
	}
	return out
}

// sortOrder sorts b.order by OpenedAt then id, if it is not sorted already.
func (b *Book) sortOrder() {
	if b.sorted {
		return
	}
	slices.SortFunc(b.order, func(x, y *auctionState) int {
		if c := cmp.Compare(x.openedAt, y.openedAt); c != 0 {
			return c
		}
		return bytes.Compare(x.a.ID[:], y.a.ID[:])
	})
	b.sorted = true
}

// lessState reports whether x sorts before y: by OpenedAt, then id.
func lessState(x, y *auctionState) bool {
	if x.openedAt != y.openedAt {
		return x.openedAt < y.openedAt
	}
	return bytes.Compare(x.a.ID[:], y.a.ID[:]) < 0
}

// absDiff returns |x - y| without overflow.
func absDiff(x, y int64) uint64 {
	if x >= y {
		return uint64(x) - uint64(y)
	}
	return uint64(y) - uint64(x)
}

// fmtMS formats Unix ms as an RFC 3339 UTC time with milliseconds.
func fmtMS(ms int64) string { return msTime(ms).Format("2006-01-02T15:04:05.000Z07:00") }

// fmtSkew formats a clock difference in ms as a duration, saturating far beyond any real skew.
func fmtSkew(ms uint64) string {
	const maxMS = uint64(math.MaxInt64 / int64(time.Millisecond))
	if ms > maxMS {
		return "more than " + time.Duration(math.MaxInt64).Truncate(time.Hour).String()
	}
	return (time.Duration(ms) * time.Millisecond).String()
}
