package auction

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// genMarket generates the logs of n peers trading at random, valid and invalid entries mixed,
// against a reference book. It returns the peers and, per peer, which entries were accepted.
func genMarket(t testing.TB, rng *rand.Rand, n, steps int, opts ...Option) (*Book, []*tpeer, [][]bool) {
	ref := NewBook(opts...)
	peers := make([]*tpeer, n)
	ok := make([][]bool, n)
	for i := range peers {
		peers[i] = newPeer(byte(100 + i))
	}
	now := t0
	add := func(w int, ev wire.Event) {
		p := peers[w]
		i := p.add(now, ev)
		_, err := ref.Apply(p.key, i, p.log[i])
		ok[w] = append(ok[w], err == nil)
	}
	for range steps {
		now += rng.Int64N(20_000)
		w := rng.IntN(n)
		all := ref.Auctions()
		switch r := rng.IntN(100); {
		case r < 8:
			add(w, &wire.Profile{Name: fmt.Sprintf("peer%d-v%d", w, rng.IntN(3))})
		case r < 25 || len(all) == 0:
			o := &wire.Open{Item: fmt.Sprintf("item %d", rng.IntN(1000)), Price: usdt(float64(1 + rng.IntN(100))), Currency: wire.Currency}
			if rng.IntN(2) == 0 {
				o.EndsAt = now + 10_000 + rng.Int64N(120_000)
			}
			if rng.IntN(20) == 0 {
				o.Currency = "USD"
			}
			add(w, o)
		case r < 85:
			a := pick(rng, all)
			bidder := peers[rng.IntN(n)]
			if bidder.key == a.Seller && rng.IntN(4) != 0 {
				bidder = peers[(indexOf(peers, a.Seller)+1)%n]
			}
			amount := a.MinNextBid() + wire.Amount(rng.Int64N(5*wire.MicroPerUSDt)) - wire.MicroPerUSDt
			bt := now - rng.Int64N(5_000)
			if rng.IntN(15) == 0 {
				bt = now - 3*60_000
			}
			sb := bidder.bid(a.ID, amount, bt)
			if rng.IntN(25) == 0 {
				sb.Amount++
			}
			seller := indexOf(peers, a.Seller)
			if rng.IntN(20) == 0 {
				seller = w
			}
			add(seller, &wire.BidAccepted{Bid: sb})
		default:
			a := pick(rng, all)
			seller := indexOf(peers, a.Seller)
			if rng.IntN(20) == 0 {
				seller = w
			}
			winner, _ := ref.CheckClose(a.Seller, a.ID)
			if rng.IntN(10) == 0 && len(a.Bids) > 1 {
				s := a.Bids[0].Signed
				winner = &s
			}
			add(seller, &wire.Close{Auction: a.ID, Winner: winner})
		}
	}
	return ref, peers, ok
}

// pick returns a random auction, an open one nine times in ten when there is one.
func pick(rng *rand.Rand, all []Auction) Auction {
	if rng.IntN(10) != 0 {
		var open []Auction
		for _, a := range all {
			if a.Status == StatusOpen && (a.EndsAt.IsZero() || rng.IntN(2) == 0) {
				open = append(open, a)
			}
		}
		if len(open) > 0 {
			return open[rng.IntN(len(open))]
		}
	}
	return all[rng.IntN(len(all))]
}

func indexOf(peers []*tpeer, k wire.PeerKey) int {
	for i, p := range peers {
		if p.key == k {
			return i
		}
	}
	panic("unknown peer")
}

// replayRandom applies the peers' logs to a new book in a random interleaving, checking that every
// entry meets the same fate as in the reference.
func replayRandom(t *testing.T, rng *rand.Rand, peers []*tpeer, ok [][]bool, opts ...Option) *Book {
	b := NewBook(opts...)
	next := make([]int, len(peers))
	left := 0
	for _, p := range peers {
		left += len(p.log)
	}
	for ; left > 0; left-- {
		w := rng.IntN(len(peers))
		for next[w] == len(peers[w].log) {
			w = (w + 1) % len(peers)
		}
		p, i := peers[w], next[w]
		_, err := b.Apply(p.key, uint64(i), p.log[i])
		if (err == nil) != ok[w][i] {
			t.Fatalf("entry %d of peer %d: error %v here, accepted=%v in the reference", i, w, err, ok[w][i])
		}
		next[w]++
	}
	return b
}

// TestDeterminism replays random markets in random interleavings: every book reaches the same
// state as the reference, entry by entry and in every query, with the default closed history
// and with one so short that most closed auctions are dropped while the logs are applied.
func TestDeterminism(t *testing.T) {
	for _, tc := range []struct{ keep, seeds int }{{DefaultClosedKept, 12}, {4, 4}, {0, 4}} {
		t.Run(fmt.Sprintf("keep %d", tc.keep), func(t *testing.T) { testDeterminism(t, tc.seeds, WithClosedKept(tc.keep)) })
	}
}

func testDeterminism(t *testing.T, seeds int, opts ...Option) {
	steps := 400
	if testing.Short() {
		seeds = min(seeds, 5)
	}
	for seed := range uint64(seeds) {
		rng := rand.New(rand.NewPCG(seed, 0xdecafbad))
		ref, peers, ok := genMarket(t, rng, 5, steps, opts...)
		checkInvariants(t, ref, true)
		accepted, rejected := 0, 0
		for _, o := range ok {
			for _, a := range o {
				if a {
					accepted++
				} else {
					rejected++
				}
			}
		}
		if accepted < steps/3 || rejected < steps/20 {
			t.Fatalf("seed %d: %d accepted, %d rejected: the generator is not exercising the rules", seed, accepted, rejected)
		}
		want := observe(ref, peers)
		for k := range 3 {
			b := replayRandom(t, rng, peers, ok, opts...)
			if k == 2 {
				b = replayByLog(t, rng, peers, ok, opts...)
			}
			if k == 0 {
				checkInvariants(t, b, true)
			}
			if got := observe(b, peers); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: state differs from the reference", seed)
			}
		}
	}
}

// replayByLog applies each log whole with ApplyLog, in a random order of logs, checking that every
// entry meets the same fate as in the reference.
func replayByLog(t *testing.T, rng *rand.Rand, peers []*tpeer, ok [][]bool, opts ...Option) *Book {
	b := NewBook(opts...)
	for _, w := range rng.Perm(len(peers)) {
		p := peers[w]
		res := b.ApplyLog(p.key, 0, p.log)
		if len(res) != len(p.log) {
			t.Fatalf("ApplyLog returned %d results for %d entries", len(res), len(p.log))
		}
		for i, r := range res {
			if (r.Err == nil) != ok[w][i] {
				t.Fatalf("ApplyLog: entry %d of peer %d: error %v here, accepted=%v in the reference", i, w, r.Err, ok[w][i])
			}
		}
	}
	return b
}

// observation is everything queryable in a book.
type observation struct {
	State    state
	Due      [][]wire.AuctionID
	Next     []time.Time
	Applied  []uint64
	Prefixes map[string]string
}

func observe(b *Book, peers []*tpeer) observation {
	o := observation{State: stateOf(b, peers...), Prefixes: map[string]string{}}
	for _, p := range peers {
		o.Due = append(o.Due, b.Due(time.UnixMilli(t0+600_000), p.key))
		d, _ := b.NextDeadline(p.key)
		o.Next = append(o.Next, d)
		o.Applied = append(o.Applied, b.Applied(p.key))
	}
	for _, a := range o.State.Auctions {
		p := a.ID.String()[:2]
		found, err := b.Find(p)
		o.Prefixes[p] = fmt.Sprint(found.ID, err)
	}
	return o
}

// TestConcurrentReaders applies a random market while readers query the book and read every
// field of their snapshots: under -race this proves that snapshots sharing Bids arrays with the
// book are never written after they are handed out.
func TestConcurrentReaders(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	_, peers, _ := genMarket(t, rng, 5, 300)
	b := NewBook()
	done := make(chan struct{})
	errs := make(chan error, 2)
	for r := range 2 {
		go func() {
			var kept [][]Auction
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				all := b.Auctions()
				kept = append(kept[max(0, len(kept)-4):], all)
				for _, snap := range kept {
					for _, a := range snap {
						n := len(a.SellerName)
						for _, bid := range a.Bids {
							n += len(bid.BidderName) + int(bid.Amount%2)
						}
						if a.Winner != nil {
							n += len(a.Winner.BidderName)
						}
						_ = n
					}
				}
				if len(all) > 0 {
					if _, err := b.Find(all[len(all)-1].ID.String()); err != nil {
						errs <- err
						return
					}
				}
				b.Due(time.UnixMilli(t0+100_000), peers[r].key)
				b.NextDeadline(peers[r].key)
			}
		}()
	}
	next := make([]int, len(peers))
	for left := true; left; {
		left = false
		for w, p := range peers {
			if next[w] < len(p.log) {
				b.Apply(p.key, uint64(next[w]), p.log[next[w]])
				next[w]++
				left = true
			}
		}
	}
	close(done)
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("reader did not stop")
		}
	}
	checkInvariants(t, b, false)
}
