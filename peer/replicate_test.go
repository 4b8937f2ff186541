package peer

import (
	"net/netip"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/faultnet"
	"github.com/auction-tui/auction-tui/wire"
)

// TestNetDeadlines: exchange and fetch deadlines follow the anti-entropy period within their
// bounds, so a request stuck behind QUIC's backed-off probe timeout after a partition is given up
// within a few periods.
func TestNetDeadlines(t *testing.T) {
	for _, tc := range []struct {
		ae              time.Duration
		exchange, fetch time.Duration
	}{
		{50 * time.Millisecond, minNetTimeout, minNetTimeout},
		{300 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond},
		{DefaultAntiEntropy, 4 * time.Second, fetchTimeout},
		{time.Minute, exchangeTimeout, fetchTimeout},
	} {
		n := &Node{cfg: config{antiEntropy: tc.ae}}
		if got := n.exchangeDeadline(); got != tc.exchange {
			t.Errorf("anti-entropy %v: exchange deadline %v, want %v", tc.ae, got, tc.exchange)
		}
		if got := n.fetchDeadline(); got != tc.fetch {
			t.Errorf("anti-entropy %v: fetch deadline %v, want %v", tc.ae, got, tc.fetch)
		}
	}
}

// held returns the holders of log recorded by n, as a map.
func held(n *Node, log wire.PeerKey) map[wire.PeerKey]uint64 {
	n.holdersMu.Lock()
	defer n.holdersMu.Unlock()
	out := map[wire.PeerKey]uint64{}
	if hs := n.holders[log]; hs != nil {
		for i := range hs.n {
			out[hs.keys[i]] = hs.lens[i]
		}
	}
	return out
}

// TestNoteHolder: a log's holders are remembered up to maxHolders, the shortest head forgotten
// first; the writer and this node itself are never recorded.
func TestNoteHolder(t *testing.T) {
	n := &Node{key: wire.PeerKey{0xff}, holders: make(map[wire.PeerKey]*holderSet)}
	log := wire.PeerKey{0xee}
	head := func(l uint64) wire.SignedHead { return wire.SignedHead{Head: wire.Head{Key: log, Length: l}} }
	n.noteHolder(log, head(5))   // the writer
	n.noteHolder(n.key, head(5)) // this node
	if got := held(n, log); len(got) != 0 {
		t.Fatalf("writer or self recorded: %v", got)
	}
	for i := range maxHolders {
		n.noteHolder(wire.PeerKey{byte(i + 1)}, head(uint64(10+i)))
	}
	n.noteHolder(wire.PeerKey{1}, head(3)) // shorter than known for that peer: no change
	if got := held(n, log)[wire.PeerKey{1}]; got != 10 {
		t.Fatalf("holder 1 length %d, want 10", got)
	}
	n.noteHolder(wire.PeerKey{2}, head(50)) // longer for a known peer: updated in place
	if got := held(n, log); got[wire.PeerKey{2}] != 50 || len(got) != maxHolders {
		t.Fatalf("after an update: %v", got)
	}
	n.noteHolder(wire.PeerKey{0x50}, head(9)) // shorter than every holder: not kept
	if _, ok := held(n, log)[wire.PeerKey{0x50}]; ok {
		t.Fatal("a holder shorter than all kept was recorded")
	}
	n.noteHolder(wire.PeerKey{0x51}, head(100)) // evicts the shortest (peer 1, 10)
	if got := held(n, log); got[wire.PeerKey{1}] != 0 || len(got) != maxHolders || got[wire.PeerKey{0x51}] != 100 {
		t.Fatalf("after eviction: %v", got)
	}
}

// lossyTrio starts three connected peers a, b, c whose sockets go through one faultnet
// network, and returns them with cut, which sets the loss of both directions between two of them
// (1 cuts the link, 0 restores it).
func lossyTrio(t *testing.T, seed uint64) (a, b, c *Node, cut func(x, y *Node, loss float64)) {
	t.Helper()
	net := faultnet.New(seed)
	t.Cleanup(func() { net.Close() })
	m := newMarket(t)
	a = m.start("a", WithPacketConnWrapper(net.Wrap))
	b = m.start("b", WithPacketConnWrapper(net.Wrap))
	c = m.start("c", WithPacketConnWrapper(net.Wrap))
	for _, n := range m.nodes {
		eventually(t, n, "full mesh", connectedTo(n, 2))
	}
	cut = func(x, y *Node, loss float64) { setLinkLoss(t, net, x, y, loss) }
	return a, b, c, cut
}

// setLinkLoss sets the loss of both directions between x and y on net (1 cuts the link, 0
// restores it).
func setLinkLoss(t testing.TB, net *faultnet.Network, x, y *Node, loss float64) {
	t.Helper()
	xa, ya := netip.MustParseAddrPort(x.Addr()), netip.MustParseAddrPort(y.Addr())
	for _, l := range [][2]netip.AddrPort{{xa, ya}, {ya, xa}} {
		if err := net.SetLink(l[0], l[1], faultnet.Faults{Loss: loss}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFetchHedged: a fetch request to a peer that stopped answering (its link dropped in both
// directions, the connection not yet known dead) is hedged to another holder of the log, here its
// writer, and the fetch goes on from there; without the hedge the same request fails at the fetch
// deadline.
func TestFetchHedged(t *testing.T) {
	a, b, c, cut := lossyTrio(t, 1)
	if _, err := c.Open(t.Context(), "Kite", amt(t, "10"), 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, a, "b recorded as a holder of c's log", func() bool { return held(a, c.key)[b.key] >= 1 })
	cut(a, b, 1)
	req := wire.FetchRequest{Key: c.key, Start: 0, End: wire.MaxRangeEntries}

	reply, from, hedged, err := a.fetchRange(t.Context(), b.key, c.key, req, true, nil)
	if err != nil || !hedged || from != c.key {
		t.Fatalf("hedged fetch: from %s, hedged %v, err %v; want an answer from the writer %s", from.Short(), hedged, err, c.key.Short())
	}
	r, err := wire.UnmarshalRange(reply)
	if err != nil || r.Start != 0 || len(r.Entries) == 0 || r.Head.Verify() != nil {
		t.Fatalf("hedged answer: %+v, %v", r, err)
	}

	if _, _, hedged, err := a.fetchRange(t.Context(), b.key, c.key, req, false, nil); err == nil || hedged {
		t.Fatalf("unhedged fetch from the cut-off peer: hedged %v, err %v; want a timeout", hedged, err)
	}
}

// TestFetchHedgedLateHolder: a fetch from a writer that stopped answering, started before any
// other holder of its log is known (a node that just restarted), is sent to another peer as soon
// as one becomes known: learned from an exchange (the hedge looks again after every delay), or
// because that peer just showed it holds more of the log (a nudge from startFetch).
func TestFetchHedgedLateHolder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nudge bool
	}{{"learned holder", false}, {"nudge", true}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, c, cut := lossyTrio(t, 2)
			// b is cut off, so it cannot hold c's new entry; a gets it, then loses its link to c.
			cut(a, b, 1)
			cut(b, c, 1)
			if _, err := c.Open(t.Context(), "Kite", amt(t, "10"), 0); err != nil {
				t.Fatal(err)
			}
			l := c.store.Log(c.key)
			want := l.Len()
			eventually(t, a, "c's new entry at a", func() bool { return a.store.Log(c.key).Len() == want })
			cut(a, c, 1)
			have := b.store.Log(c.key).Len() // what b held before the cut
			if have >= want {
				t.Fatalf("b holds %d of c's %d entries across the cut", have, want)
			}

			type result struct {
				from   wire.PeerKey
				hedged bool
				err    error
			}
			done := make(chan result, 1)
			nudge := make(chan wire.PeerKey, 1)
			waits := a.hedgeWaits.Load()
			go func() {
				req := wire.FetchRequest{Key: c.key, Start: have, End: have + wire.MaxRangeEntries}
				// With a nudge, the hedge is off: only the nudge may send the request elsewhere.
				_, from, hedged, err := a.fetchRange(t.Context(), c.key, c.key, req, !tc.nudge, nudge)
				done <- result{from, hedged, err}
			}()
			eventually(t, a, "a hedge check that found no holder", func() bool {
				if tc.nudge {
					return true // the fetch keeps the nudge until it has waited a hedge delay
				}
				select {
				case r := <-done:
					t.Fatalf("the fetch ended before looking for another holder: from %s, hedged %v, err %v", r.from.Short(), r.hedged, r.err)
				default:
				}
				return a.hedgeWaits.Load() > waits
			})
			// Now b gets the rest of c's log (straight from c's store: its links are cut) and a
			// learns it.
			entries, err := l.Range(have, want)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.store.Import(t.Context(), l.Head(), have, entries); err != nil {
				t.Fatal(err)
			}
			cut(a, b, 0)
			if tc.nudge {
				nudge <- b.key
			} else {
				a.noteHolder(b.key, l.Head())
			}
			r := <-done
			if r.err != nil || r.from != b.key {
				t.Fatalf("fetch: from %s, hedged %v, err %v; want an answer from b %s", r.from.Short(), r.hedged, r.err, b.key.Short())
			}
		})
	}
}
