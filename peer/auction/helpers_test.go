package auction

import (
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// t0 is the base clock of the tests, in Unix ms.
const t0 int64 = 1_700_000_000_000

// usdt returns n whole USDt.
func usdt(n float64) wire.Amount { return wire.Amount(n * wire.MicroPerUSDt) }

// tpeer is a test peer: a key pair and the log it writes.
type tpeer struct {
	priv ed25519.PrivateKey
	key  wire.PeerKey
	log  []wire.Entry
}

// newPeer returns a peer whose key derives from seed, so tests are reproducible.
func newPeer(seed byte) *tpeer {
	var s [ed25519.SeedSize]byte
	s[0] = seed
	s[1] = 0xa5
	priv := ed25519.NewKeyFromSeed(s[:])
	return &tpeer{priv: priv, key: wire.KeyOf(priv)}
}

// bid returns p's signed bid of amount on auction id at Unix ms t.
func (p *tpeer) bid(id wire.AuctionID, amount wire.Amount, t int64) wire.SignedBid {
	return wire.SignBid(p.priv, wire.Bid{Auction: id, Amount: amount, Bidder: p.key, Time: t})
}

// add appends an entry to p's log and returns its index.
func (p *tpeer) add(t int64, ev wire.Event) uint64 {
	p.log = append(p.log, wire.Entry{Time: t, Event: ev})
	return uint64(len(p.log) - 1)
}

// market feeds the entries its peers append straight into a book.
type market struct {
	t    testing.TB
	book *Book
}

func newMarket(t testing.TB) *market { return &market{t: t, book: NewBook()} }

// apply appends ev to p's log, applies it, and returns the change and error.
func (m *market) apply(p *tpeer, t int64, ev wire.Event) (Change, error) {
	i := p.add(t, ev)
	return m.book.Apply(p.key, i, p.log[i])
}

// must applies like apply and fails the test on error.
func (m *market) must(p *tpeer, t int64, ev wire.Event) Change {
	m.t.Helper()
	ch, err := m.apply(p, t, ev)
	if err != nil {
		m.t.Fatalf("apply %T at %d: %v", ev, t, err)
	}
	return ch
}

func (m *market) profile(p *tpeer, name string) {
	m.t.Helper()
	m.must(p, t0, &wire.Profile{Name: name})
}

// open opens an auction (endsAt 0: by hand) at time t and returns its id.
func (m *market) open(p *tpeer, item string, price wire.Amount, t, endsAt int64) wire.AuctionID {
	m.t.Helper()
	ch := m.must(p, t, &wire.Open{Item: item, Price: price, Currency: wire.Currency, EndsAt: endsAt})
	if want := wire.DeriveAuctionID(p.key, uint64(len(p.log)-1)); ch.Auction.ID != want {
		m.t.Fatalf("opened id %s, want %s", ch.Auction.ID, want)
	}
	return ch.Auction.ID
}

// bid has seller accept bidder's bid of amount on id, signed and accepted at t.
func (m *market) bid(seller, bidder *tpeer, id wire.AuctionID, amount wire.Amount, t int64) (Change, error) {
	return m.apply(seller, t, &wire.BidAccepted{Bid: bidder.bid(id, amount, t)})
}

// state is everything observable in a book, for comparisons.
type state struct {
	Auctions []Auction
	Names    map[wire.PeerKey]string
}

func stateOf(b *Book, peers ...*tpeer) state {
	s := state{Auctions: b.Auctions(), Names: map[wire.PeerKey]string{}}
	for _, p := range peers {
		s.Names[p.key] = b.Name(p.key)
	}
	return s
}

// wantRule checks that err is a *RuleError matching sentinel.
func wantRule(t testing.TB, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want %v", err, sentinel)
	}
	var re *RuleError
	if !errors.As(err, &re) || re.Reason == "" || re.Rule == "" || re.Rule == "unknown" {
		t.Fatalf("error %#v is not a complete *RuleError", err)
	}
}

func sameState(t testing.TB, got, want state) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("state differs:\n got %+v\nwant %+v", got, want)
	}
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// checkInvariants checks what must hold in every book, whatever was applied; with verify, it
// also verifies every accepted bid's signature again.
func checkInvariants(t testing.TB, b *Book, verify bool) {
	t.Helper()
	all := b.Auctions()
	if len(all) != b.Len() {
		t.Fatalf("Auctions() has %d, Len %d", len(all), b.Len())
	}
	for i, a := range all {
		if i > 0 {
			p := all[i-1]
			if p.OpenedAt.After(a.OpenedAt) || (p.OpenedAt.Equal(a.OpenedAt) && p.ID.String() >= a.ID.String()) {
				t.Fatalf("Auctions() out of order at %d", i)
			}
		}
		if a.Currency != wire.Currency || a.Price.Valid() != nil {
			t.Fatalf("auction %s: currency %q price %d", a.ID, a.Currency, a.Price)
		}
		for j, bid := range a.Bids {
			switch {
			case bid.Bidder == a.Seller:
				t.Fatalf("auction %s: seller's own bid", a.ID)
			case j == 0 && bid.Amount < a.Price:
				t.Fatalf("auction %s: first bid below start", a.ID)
			case j > 0 && bid.Amount <= a.Bids[j-1].Amount:
				t.Fatalf("auction %s: bid %d not above the previous", a.ID, j)
			case (verify && bid.Signed.Verify() != nil) || bid.Signed.Auction != a.ID:
				t.Fatalf("auction %s: bid %d does not verify for this auction", a.ID, j)
			case bid.Signed.Bidder != bid.Bidder || bid.Signed.Amount != bid.Amount:
				t.Fatalf("auction %s: bid %d fields differ from its signed bid", a.ID, j)
			}
		}
		switch a.Status {
		case StatusOpen:
			if a.Winner != nil || !a.ClosedAt.IsZero() {
				t.Fatalf("open auction %s has a winner or close time", a.ID)
			}
		case StatusClosed:
			if h := a.Highest(); (h == nil) != (a.Winner == nil) || (h != nil && h.Signed != a.Winner.Signed) {
				t.Fatalf("closed auction %s: winner %+v, highest %+v", a.ID, a.Winner, h)
			}
		default:
			t.Fatalf("auction %s: status %q", a.ID, a.Status)
		}
	}
}
