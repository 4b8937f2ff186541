package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
)

// fakeEngine is a small in-memory Engine for pure model tests: a single peer's auction book with
// the design's bid rules, and an event channel the test writes to. The real-engine flows run
// against peer.Node elsewhere.
type fakeEngine struct {
	key          wire.PeerKey
	name, market string
	now          func() time.Time

	mu       sync.Mutex
	auctions map[wire.AuctionID]*auction.Auction
	next     uint64 // index of this peer's next open entry
	peers    []peer.PeerInfo
	stats    peer.Stats
	events   chan peer.Event
	once     sync.Once
}

func newFakeEngine(key wire.PeerKey, name string, now func() time.Time) *fakeEngine {
	return &fakeEngine{key: key, name: name, market: "default", now: now,
		auctions: make(map[wire.AuctionID]*auction.Auction), events: make(chan peer.Event, 1024)}
}

func (f *fakeEngine) Key() wire.PeerKey { return f.key }
func (f *fakeEngine) Name() string      { return f.name }
func (f *fakeEngine) Market() string    { return f.market }

func (f *fakeEngine) Open(_ context.Context, item string, price wire.Amount, d time.Duration) (auction.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := &auction.Auction{ID: wire.DeriveAuctionID(f.key, f.next), Item: item, Seller: f.key, SellerName: f.name,
		Price: price, Currency: wire.Currency, Status: auction.StatusOpen, OpenedAt: f.now(), OpenIndex: f.next}
	if d > 0 {
		a.EndsAt = a.OpenedAt.Add(d)
	}
	f.next++
	f.auctions[a.ID] = a
	return clone(a), nil
}

func (f *fakeEngine) find(id string) (*auction.Auction, error) {
	aid, err := wire.ParseAuctionID(id)
	if err != nil {
		return nil, err
	}
	a, ok := f.auctions[aid]
	if !ok {
		return nil, errors.New("no such auction")
	}
	return a, nil
}

func (f *fakeEngine) Bid(_ context.Context, id string, amount wire.Amount) (auction.Bid, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.find(id)
	switch {
	case err != nil:
		return auction.Bid{}, err
	case a.Status != auction.StatusOpen:
		return auction.Bid{}, errors.New("auction is closed")
	case a.Seller == f.key:
		return auction.Bid{}, errors.New("the seller cannot bid")
	case amount < a.MinNextBid():
		return auction.Bid{}, fmt.Errorf("bid too low: at least %s USDt", a.MinNextBid())
	}
	b := auction.Bid{Bidder: f.key, BidderName: f.name, Amount: amount, PlacedAt: f.now(), AcceptedAt: f.now()}
	a.Bids = append(a.Bids, b)
	return b, nil
}

func (f *fakeEngine) CloseAuction(_ context.Context, id string) (auction.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.find(id)
	switch {
	case err != nil:
		return auction.Auction{}, err
	case a.Seller != f.key:
		return auction.Auction{}, errors.New("only the seller closes")
	case a.Status != auction.StatusOpen:
		return auction.Auction{}, errors.New("auction is closed")
	}
	a.Status, a.ClosedAt = auction.StatusClosed, f.now()
	if h := a.Highest(); h != nil {
		w := *h
		a.Winner = &w
	}
	return clone(a), nil
}

func (f *fakeEngine) Auctions() []auction.Auction {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]auction.Auction, 0, len(f.auctions))
	for _, a := range f.auctions {
		out = append(out, clone(a))
	}
	return out
}

func (f *fakeEngine) Peers() []peer.PeerInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peers)
}

func (f *fakeEngine) Stats() peer.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Subscribe returns the one event channel of the fake; it closes when ctx ends.
func (f *fakeEngine) Subscribe(ctx context.Context) <-chan peer.Event {
	context.AfterFunc(ctx, func() { f.once.Do(func() { close(f.events) }) })
	return f.events
}

// add stores an auction as if replicated from its seller.
func (f *fakeEngine) add(a auction.Auction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auctions[a.ID] = &a
}

func clone(a *auction.Auction) auction.Auction {
	c := *a
	c.Bids = slices.Clone(a.Bids)
	if a.Winner != nil {
		w := *a.Winner
		c.Winner = &w
	}
	return c
}
