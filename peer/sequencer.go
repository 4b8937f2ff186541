package peer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/peer/rpc"
	"github.com/auction-tui/auction-tui/storage"
	"github.com/auction-tui/auction-tui/wire"
)

// The sequencer owns every append to this peer's log. It takes requests in batches, checks each
// against the book as it will stand after the ones before it in the batch, commits the batch with
// one durable append (one fsync), applies it to the book, and only then answers. The seller is
// thereby the single sequencer of its own auctions, and an acknowledgement always means on disk.

// MaxDuration bounds the duration of a timed auction.
const MaxDuration = 30 * 24 * time.Hour

type seqKind int

const (
	seqProfile seqKind = iota
	seqOpen
	seqBid
	seqClose
)

type seqReq struct {
	kind  seqKind
	name  string
	open  wire.Open
	dur   time.Duration
	bid   wire.SignedBid
	close wire.AuctionID
	done  chan seqResult // buffered, capacity 1
}

type seqResult struct {
	index uint64
	head  wire.SignedHead
	first uint64
	batch [][]byte
	err   error
}

// submit hands r to the sequencer and waits for its durable result.
func (n *Node) submit(ctx context.Context, r *seqReq) (seqResult, error) {
	r.done = make(chan seqResult, 1)
	select {
	case n.seq <- r:
	case <-ctx.Done():
		return seqResult{}, ctx.Err()
	case <-n.ctx.Done():
		return seqResult{}, ErrClosed
	}
	select {
	case res := <-r.done:
		return res, res.err
	case <-n.ctx.Done():
		return seqResult{}, ErrClosed
	}
}

// pendingBid is the state a batch adds on top of the book for one auction.
type pendingBid struct {
	highest wire.Amount
	bids    int
	closed  bool // the batch closes the auction: no bid may follow it
}

func (n *Node) runSequencer() {
	defer n.wg.Done()
	var carry []*seqReq
	for {
		var first *seqReq
		if len(carry) > 0 {
			first, carry = carry[0], carry[1:]
		} else {
			select {
			case first = <-n.seq:
			case <-n.ctx.Done():
				return
			}
		}
		n.waitOwnRecovery()
		batch := drainInto(n.seq, append([]*seqReq{first}, carry...), MaxBatch)
		carry = n.commitBatch(batch)
	}
}

// commitBatch checks, appends and applies one batch; it returns the requests deferred to the next.
func (n *Node) commitBatch(batch []*seqReq) (deferred []*seqReq) {
	now := n.now()
	pending := make(map[wire.AuctionID]*pendingBid)
	var entries [][]byte
	var accepted []*seqReq
	inBatch := make(map[wire.SignedBid]int) // bids accepted in this batch -> position in entries
	var repeats []repeatBid                 // the same bids again, in this batch
	n.mu.Lock()
	for i, r := range batch {
		e := wire.Entry{Time: now.UnixMilli()}
		var err error
		switch r.kind {
		case seqProfile:
			e.Event = &wire.Profile{Name: r.name}
		case seqOpen:
			o := r.open
			if r.dur > 0 {
				o.EndsAt = now.Add(r.dur).UnixMilli()
			}
			e.Event = &o
		case seqBid:
			err = n.book.CheckVerifiedBid(n.key, r.bid, now) // handleBid verified the signature
			if p := pending[r.bid.Auction]; err == nil && p != nil && p.closed {
				// The book does not hold this batch's close yet: without this check the bid
				// would be acknowledged, and then ignored by every peer (after the close).
				err = &RejectedError{Reason: fmt.Sprintf("auction %s is closed", r.bid.Auction), Err: auction.ErrAuctionClosed}
			} else if err == nil && p != nil && r.bid.Amount <= p.highest {
				err = &auction.RuleError{Rule: "highest", Auction: r.bid.Auction,
					Reason: fmt.Sprintf("bid %s is not above the highest bid %s USDt", r.bid.Amount, p.highest)}
				err = &RejectedError{Reason: err.Error(), Err: auction.ErrNotAboveHighest}
			}
			if err != nil {
				// The very bid accepted already (a retry whose first answer was lost, or a
				// replay by its bidder) gets the receipt of its entry, not a rejection: a
				// rejection would tell the bidder that a bid every peer holds did not count.
				if pos, ok := inBatch[r.bid]; ok {
					repeats = append(repeats, repeatBid{r, pos})
					continue
				}
				if idx, ok := n.acceptedIndexLocked(r.bid); ok {
					r.done <- seqResult{index: idx, head: n.store.Own().Head()}
					continue
				}
			}
			if err == nil {
				p := pending[r.bid.Auction]
				if p == nil {
					p = &pendingBid{}
					pending[r.bid.Auction] = p
				}
				p.highest, p.bids = r.bid.Amount, p.bids+1
				inBatch[r.bid] = len(entries)
				b := r.bid
				e.Event = &wire.BidAccepted{Bid: b}
			}
		case seqClose:
			if pending[r.close] != nil {
				// Bids on this auction are in this batch: close in the next one, against them.
				deferred = append(deferred, batch[i:]...)
				batch = batch[:i]
				goto commit
			}
			var w *wire.SignedBid
			w, err = n.book.CheckClose(n.key, r.close)
			if err == nil {
				e.Event = &wire.Close{Auction: r.close, Winner: w}
				pending[r.close] = &pendingBid{closed: true} // no bid may follow in this batch
			}
		}
		var b []byte
		if err == nil {
			b, err = e.Marshal()
		}
		if err != nil {
			r.done <- seqResult{err: asRejected(err)}
			continue
		}
		entries = append(entries, b)
		accepted = append(accepted, r)
	}
commit:
	n.mu.Unlock()
	if len(entries) == 0 {
		return deferred
	}
	first, head, err := n.store.Own().Append(n.ctx, entries...)
	if err != nil {
		n.log.Error("durable append failed", "err", err)
		for _, r := range accepted {
			r.done <- seqResult{err: fmt.Errorf("append to own log: %w", err)}
		}
		for _, rp := range repeats {
			rp.r.done <- seqResult{err: fmt.Errorf("append to own log: %w", err)}
		}
		return deferred
	}
	n.applyNew(n.key, wire.Range{Start: first, Entries: entries})
	n.mu.Lock()
	n.known[n.key] = head.Length
	n.mu.Unlock()
	for i, r := range accepted {
		r.done <- seqResult{index: first + uint64(i), head: head, first: first, batch: entries}
	}
	for _, rp := range repeats {
		rp.r.done <- seqResult{index: first + uint64(rp.pos), head: head, first: first, batch: entries}
	}
	n.push(wire.Range{Head: head, Start: first, Entries: entries})
	return deferred
}

// repeatBid is a bid request for a bid accepted earlier in the same batch, at pos in its entries.
type repeatBid struct {
	r   *seqReq
	pos int
}

// acceptedIndexLocked returns the index of the entry that accepted exactly sb, if the book holds
// one. n.mu must be held.
func (n *Node) acceptedIndexLocked(sb wire.SignedBid) (uint64, bool) {
	a, ok := n.book.Auction(sb.Auction)
	if !ok {
		return 0, false
	}
	for _, b := range a.Bids {
		if b.Signed == sb {
			return b.Index, true
		}
	}
	return 0, false
}

// asRejected turns a rule error into a RejectedError carrying its sentinel.
func asRejected(err error) error {
	var re *RejectedError
	if errors.As(err, &re) {
		return err
	}
	var rule *auction.RuleError
	if errors.As(err, &rule) {
		return &RejectedError{Reason: rule.Reason, Err: err}
	}
	return err
}

// publishProfile appends a profile entry when the configured name differs from the published one.
func (n *Node) publishProfile(ctx context.Context) error {
	name := strings.TrimSpace(n.cfg.name)
	n.mu.Lock()
	current := n.book.Name(n.key)
	n.mu.Unlock()
	if name == "" {
		if current != "" {
			return nil
		}
		name = "peer-" + n.key.Short()
	}
	if name == current {
		return nil
	}
	_, err := n.submit(ctx, &seqReq{kind: seqProfile, name: name})
	return err
}

// Open opens an auction of item at the start price, closed by hand when d is zero or by this
// node at the deadline otherwise. It returns once the open entry is durable.
func (n *Node) Open(ctx context.Context, item string, price wire.Amount, d time.Duration) (auction.Auction, error) {
	item = strings.TrimSpace(item)
	switch {
	case item == "":
		return auction.Auction{}, fmt.Errorf("%w: the item name is empty", ErrBadInput)
	case len(item) > wire.MaxItemLen || !utf8.ValidString(item):
		return auction.Auction{}, fmt.Errorf("%w: the item name must be valid text of at most %d bytes", ErrBadInput, wire.MaxItemLen)
	case d < 0 || d > MaxDuration:
		return auction.Auction{}, fmt.Errorf("%w: duration must be between 0 and %s", ErrBadInput, MaxDuration)
	}
	if err := price.Valid(); err != nil {
		return auction.Auction{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	res, err := n.submit(ctx, &seqReq{kind: seqOpen, open: wire.Open{Item: item, Price: price, Currency: wire.Currency}, dur: d})
	if err != nil {
		return auction.Auction{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	a, ok := n.book.Auction(wire.DeriveAuctionID(n.key, res.index))
	if !ok {
		return auction.Auction{}, fmt.Errorf("opened auction missing from the book at index %d", res.index)
	}
	return a, nil
}

// CloseAuction closes one of this node's auctions, naming the highest bid as the winner. id is a
// unique id prefix.
func (n *Node) CloseAuction(ctx context.Context, id string) (auction.Auction, error) {
	a, err := n.Auction(id)
	if err != nil {
		return auction.Auction{}, err
	}
	if a.Seller != n.key {
		return auction.Auction{}, &RejectedError{Reason: "only the seller can close an auction", Err: auction.ErrNotSeller}
	}
	if _, err := n.submit(ctx, &seqReq{kind: seqClose, close: a.ID}); err != nil {
		return auction.Auction{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	a, _ = n.book.Auction(a.ID)
	return a, nil
}

// Bid signs a bid of amount on the auction whose id starts with id and sends it to the seller,
// which accepts it durably or rejects it with a reason (a *RejectedError). It returns the
// accepted bid once the seller acknowledged it and this node holds the seller's entry.
func (n *Node) Bid(ctx context.Context, id string, amount wire.Amount) (auction.Bid, error) {
	if err := amount.Valid(); err != nil {
		return auction.Bid{}, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	a, err := n.Auction(id)
	if err != nil {
		return auction.Bid{}, err
	}
	if a.Seller == n.key {
		return auction.Bid{}, &RejectedError{Reason: "you cannot bid on your own auction", Err: auction.ErrOwnAuction}
	}
	if a.Status != auction.StatusOpen {
		return auction.Bid{}, &RejectedError{Reason: "the auction is closed", Err: auction.ErrAuctionClosed}
	}
	sb := wire.SignBid(n.priv, wire.Bid{Auction: a.ID, Amount: amount, Bidder: n.key, Time: n.now().UnixMilli()})
	n.rememberOwnBid(sb)
	ctx, cancel := context.WithTimeout(ctx, n.cfg.bidTimeout)
	defer cancel()
	reply, err := n.ep.Request(ctx, a.Seller, methodBid, sb.Marshal())
	if err != nil {
		var re *rpc.Error
		if errors.As(err, &re) && re.Code == rpc.CodeRejected {
			return auction.Bid{}, &RejectedError{Reason: re.Message, Err: err}
		}
		if errors.Is(err, rpc.ErrOverloaded) {
			return auction.Bid{}, fmt.Errorf("%w: the seller is busy, try again: %w", ErrSellerBusy, err)
		}
		if ctx.Err() != nil || errors.Is(err, rpc.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			return auction.Bid{}, fmt.Errorf("%w: no answer from the seller within %s", ErrSellerUnreachable, n.cfg.bidTimeout)
		}
		return auction.Bid{}, fmt.Errorf("%w: %w", ErrSellerUnreachable, err)
	}
	rc, err := wire.UnmarshalBidReceipt(reply)
	if err != nil {
		return auction.Bid{}, fmt.Errorf("seller's reply: %w", err)
	}
	if rc.Head.Key != a.Seller {
		return auction.Bid{}, fmt.Errorf("seller's receipt is for another log than the seller's")
	}
	// The entry itself arrives by push (or fetch) and is verified then; the receipt's signed head
	// (whose signature ObserveHead checks) tells the sync logic that it exists.
	need, err := n.store.ObserveHead(rc.Head) // the store checks each distinct head's signature once
	var ve *storage.VerifyError
	switch {
	case errors.As(err, &ve):
		return auction.Bid{}, fmt.Errorf("seller's receipt is not signed by the seller: %w", err)
	case err != nil:
		n.importFailed(a.Seller, a.Seller, err)
	case need:
		n.noteHead(rc.Head)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return auction.Bid{Bidder: n.key, BidderName: n.book.Name(n.key), Amount: amount, Signed: sb,
		PlacedAt: time.UnixMilli(sb.Time).UTC(), Index: rc.Index}, nil
}

// handleBid is the seller's side of a bid: verify, sequence, append durably, then answer with a
// receipt: the entry's index and the signed head of the commit that holds it.
func (n *Node) handleBid(ctx context.Context, req *rpc.Request) ([]byte, error) {
	sb, err := wire.UnmarshalSignedBid(req.Payload)
	if err != nil {
		return nil, rpc.Reject("malformed bid: " + err.Error())
	}
	if sb.Bidder != req.Caller {
		return nil, rpc.Reject("the bid is signed by another key than the caller's")
	}
	if n.penalised(req.Caller, time.Now()) {
		return nil, rpc.Reject(fmt.Sprintf("a bid of yours had a bad signature: your bids are refused for %s", BadSignaturePenalty))
	}
	// Fairness: one bidder cannot fill the sequencer's queue and delay everyone else.
	if !n.takeBidSlot(req.Caller) {
		return nil, rpc.Overloaded(fmt.Sprintf("more than %d of your bids are in flight at this seller", MaxBidsInFlightPerPeer))
	}
	defer n.releaseBidSlot(req.Caller)
	ok, err := n.verifyBid(ctx, sb)
	if err != nil {
		return nil, err
	}
	if !ok {
		n.penalise(req.Caller, time.Now())
		n.log.Warn("bid with a bad signature; the caller's bids are refused for a while", "peer", req.Caller.Short(), "for", BadSignaturePenalty)
		return nil, rpc.Reject("the bid's signature does not verify")
	}
	res, err := n.submit(ctx, &seqReq{kind: seqBid, bid: sb})
	if err != nil {
		var re *RejectedError
		if errors.As(err, &re) {
			return nil, rpc.Reject(re.Reason)
		}
		return nil, err
	}
	return wire.BidReceipt{Head: res.head, Index: res.index}.Marshal(), nil
}

// drainInto appends to batch what ch holds right now, without waiting, until batch has max
// elements, and returns it.
func drainInto[T any](ch <-chan T, batch []T, max int) []T {
	for len(batch) < max {
		select {
		case r := <-ch:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// verifyReq is one bid signature waiting for the seller's verifier.
type verifyReq struct {
	bid  wire.SignedBid
	done chan bool // buffered, capacity 1
}

// verifyBid checks sb's signature in the seller's verifier, batched with the other bids that
// arrive meanwhile (a batch check costs about half as much per signature as one by one).
func (n *Node) verifyBid(ctx context.Context, sb wire.SignedBid) (bool, error) {
	r := verifyReq{bid: sb, done: make(chan bool, 1)}
	select {
	case n.verifyq <- r:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-n.ctx.Done():
		return false, ErrClosed
	}
	select {
	case ok := <-r.done:
		return ok, nil
	case <-n.ctx.Done():
		return false, ErrClosed
	}
}

// runVerifier checks the signatures of incoming bids in batches: it takes every bid waiting
// (at most MaxBatch) and verifies them together while the sequencer commits the previous batch.
func (n *Node) runVerifier() {
	defer n.wg.Done()
	reqs := make([]verifyReq, 0, MaxBatch)
	bids := make([]wire.SignedBid, 0, MaxBatch)
	for {
		select {
		case r := <-n.verifyq:
			reqs = drainInto(n.verifyq, append(reqs[:0], r), MaxBatch)
		case <-n.ctx.Done():
			return
		}
		bids = bids[:0]
		for _, r := range reqs {
			bids = append(bids, r.bid)
		}
		for i, ok := range verifyParallel(bids) {
			reqs[i].done <- ok
		}
		clear(reqs)
	}
}

// runAutoClose closes this node's timed auctions at their deadlines.
func (n *Node) runAutoClose() {
	defer n.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n.mu.Lock()
		due := n.book.Due(n.now(), n.key)
		next, ok := n.book.NextDeadline(n.key)
		n.mu.Unlock()
		progressed := false
		for _, id := range due {
			_, err := n.submit(n.ctx, &seqReq{kind: seqClose, close: id})
			switch {
			case err == nil:
				progressed = true
			case errors.Is(err, ErrClosed):
				return
			default:
				n.log.Warn("auto-close", "auction", id.String(), "err", err)
			}
		}
		if progressed {
			continue
		}
		wait := time.Hour
		if ok {
			wait = max(next.Sub(n.now()), time.Millisecond)
		}
		if len(due) > 0 {
			wait = time.Second // a close failed: retry, but not in a hot loop
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-n.deadline:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-n.ctx.Done():
			return
		}
	}
}

// takeBidSlot reserves one of bidder's MaxBidsInFlightPerPeer slots; it reports false when all are
// taken.
func (n *Node) takeBidSlot(bidder wire.PeerKey) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.bidSlots[bidder] >= MaxBidsInFlightPerPeer {
		return false
	}
	n.bidSlots[bidder]++
	return true
}

func (n *Node) releaseBidSlot(bidder wire.PeerKey) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.bidSlots[bidder]--; n.bidSlots[bidder] <= 0 {
		delete(n.bidSlots, bidder)
	}
}
