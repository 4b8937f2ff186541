package peer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/peer/rpc"
	"github.com/auction-tui/auction-tui/wire"
)

// Hostile peers, in process: a hostile node speaks the real protocol over real QUIC but crafts
// messages and log entries that honest peers must reject, report, and survive.

// rawAppend appends hand-made entries to n's own log, bypassing the sequencer's checks, and pushes
// them like any new entries.
func rawAppend(t *testing.T, n *Node, events ...wire.Event) {
	t.Helper()
	n.push(appendQuiet(t, n, events...))
}

// appendQuiet appends events to n's own log and tells no peer (no push): they learn of them by
// anti-entropy only. It returns the range appended.
func appendQuiet(t *testing.T, n *Node, events ...wire.Event) wire.Range {
	t.Helper()
	var entries [][]byte
	for _, ev := range events {
		b, err := wire.Entry{Time: n.now().UnixMilli(), Event: ev}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, b)
	}
	first, head, err := n.store.Own().Append(context.Background(), entries...)
	if err != nil {
		t.Fatal(err)
	}
	return wire.Range{Head: head, Start: first, Entries: entries}
}

func TestHostilePeers(t *testing.T) {
	m := newMarket(t)
	seller, honest, evil := m.start("seller"), m.start("honest"), m.start("evil")
	ctx := context.Background()
	for _, n := range m.nodes {
		eventually(t, n, "connected", connectedTo(n, 2))
	}
	a, err := seller.Open(ctx, "Pic#1", amt(t, "10"), 0)
	if err != nil {
		t.Fatal(err)
	}
	id := a.ID
	for _, n := range m.nodes {
		eventually(t, n, "sees Pic#1", func() bool { _, err := n.Auction(id.String()); return err == nil })
	}
	honestBid, err := honest.Bid(ctx, id.String(), amt(t, "11"))
	if err != nil {
		t.Fatal(err)
	}

	reject := func(t *testing.T, payload []byte, wantReason string) {
		t.Helper()
		_, err := evil.ep.Request(ctx, seller.Key(), methodBid, payload)
		var re *rpc.Error
		if !errors.As(err, &re) || re.Code != rpc.CodeRejected {
			t.Fatalf("seller answered %v, want a rejection (%s)", err, wantReason)
		}
	}
	t.Run("bid signed by one key claimed for another", func(t *testing.T) {
		sb := wire.SignBid(evil.priv, wire.Bid{Auction: id, Amount: amt(t, "50"), Bidder: evil.Key(), Time: time.Now().UnixMilli()})
		sb.Bidder = honest.Key() // claim it is honest's bid
		reject(t, sb.Marshal(), "bad signature")
	})
	t.Run("valid bid relayed by another key", func(t *testing.T) {
		sb := wire.SignBid(honest.priv, wire.Bid{Auction: id, Amount: amt(t, "60"), Bidder: honest.Key(), Time: time.Now().UnixMilli()})
		reject(t, sb.Marshal(), "caller is not the bidder")
	})
	t.Run("replayed bid", func(t *testing.T) {
		// The bidder sending its accepted bid again (a retry whose answer was lost looks the
		// same) gets the receipt of the entry that holds it: nothing is appended, nothing
		// changes. Replays by other keys, into other auctions or stale ones are refused above
		// and in TestHostileFlood.
		before := seller.store.Own().Len()
		reply, err := honest.ep.Request(ctx, seller.Key(), methodBid, honestBid.Signed.Marshal())
		if err != nil {
			t.Fatalf("replay by the bidder answered %v, want the original receipt", err)
		}
		rc, err := wire.UnmarshalBidReceipt(reply)
		if err != nil || rc.Index != honestBid.Index {
			t.Fatalf("replay receipt %+v, %v; want index %d", rc, err, honestBid.Index)
		}
		if got := seller.store.Own().Len(); got != before {
			t.Fatalf("a replayed bid appended %d entries", got-before)
		}
	})
	t.Run("stale bid", func(t *testing.T) {
		sb := wire.SignBid(evil.priv, wire.Bid{Auction: id, Amount: amt(t, "70"), Bidder: evil.Key(), Time: time.Now().Add(-time.Hour).UnixMilli()})
		reject(t, sb.Marshal(), "stale")
	})
	t.Run("garbage bid", func(t *testing.T) {
		reject(t, []byte("not a bid"), "malformed")
	})
	t.Run("close by someone other than the seller", func(t *testing.T) {
		rawAppend(t, evil, &wire.Close{Auction: id, Winner: &honestBid.Signed})
		// Then an honest bid must still go through: the auction stayed open everywhere.
		if _, err := honest.Bid(ctx, id.String(), amt(t, "12")); err != nil {
			t.Fatalf("honest bid after a forged close: %v", err)
		}
		for _, n := range m.nodes {
			eventually(t, n, "evil's close ignored, honest bid seen", func() bool {
				got, _ := n.Auction(id.String())
				return got.Status == auction.StatusOpen && len(got.Bids) == 2 && n.store.Log(evil.Key()).Len() >= 2
			})
		}
	})
	t.Run("bid accepted by someone other than the seller", func(t *testing.T) {
		sb := wire.SignBid(evil.priv, wire.Bid{Auction: id, Amount: amt(t, "99"), Bidder: evil.Key(), Time: time.Now().UnixMilli()})
		rawAppend(t, evil, &wire.BidAccepted{Bid: sb})
		before := evil.store.Log(evil.Key()).Len()
		eventually(t, honest, "holds evil's entry", func() bool { return honest.store.Log(evil.Key()).Len() == before })
		got, _ := honest.Auction(id.String())
		if h := got.Highest(); h == nil || h.Amount == amt(t, "99") {
			t.Fatalf("a bid accepted by a non-seller counted: highest %+v", h)
		}
	})
	t.Run("range with a bad signature", func(t *testing.T) {
		l := evil.store.Own()
		head := l.Head()
		entries, err := l.Range(0, head.Length)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := wire.Entry{Time: time.Now().UnixMilli(), Event: &wire.Profile{Name: "mallory"}}.Marshal()
		bad := head
		bad.Length++
		bad.Sig[0] ^= 1
		payload := wire.Range{Head: bad, Start: 0, Entries: append(entries, b)}.Marshal()
		if err := evil.ep.Event(ctx, honest.Key(), methodPush, payload); err != nil {
			t.Fatal(err)
		}
		// Pushes are fire-and-forget: a heads round trip after it proves it was handled.
		evil.exchangeHeads(ctx, honest.Key())
		if got := honest.store.Log(evil.Key()).Len(); got != head.Length {
			t.Fatalf("a badly signed range was stored: length %d, want %d", got, head.Length)
		}
	})
	t.Run("heads digests", func(t *testing.T) {
		for _, b := range [][]byte{nil, make([]byte, wire.HeadsDigestSize-1), make([]byte, wire.HeadsDigestSize+1)} {
			_, err := evil.ep.Request(ctx, honest.Key(), methodDigest, b)
			var re *rpc.Error
			if !errors.As(err, &re) || re.Code != rpc.CodeRejected {
				t.Fatalf("a %d-byte digest answered %v, want a rejection", len(b), err)
			}
		}
		// A digest of heads the node does not hold (a guess, or a lie) only gets its heads back.
		reply, err := evil.ep.Request(ctx, honest.Key(), methodDigest, wire.HeadsDigest{Count: 3, Sum: [32]byte{1}}.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		hs, err := wire.UnmarshalHeads(reply)
		if err != nil || len(hs.Heads) != len(honest.heads().heads) {
			t.Fatalf("answer to a wrong digest: %d heads, %v; want the node's %d heads", len(hs.Heads), err, len(honest.heads().heads))
		}
	})
	t.Run("forked log", func(t *testing.T) {
		l := evil.store.Own()
		h := l.Head()
		fork := h.Head
		fork.Root[0] ^= 0xff // a second, inconsistent head for the same length
		forged := wire.SignHead(evil.priv, fork)
		// A node checks one heads set per caller at a time and drops sets that arrive while it
		// is busy (the reconcile of the exchange above may still run on a loaded machine), so
		// the forged head is sent again on every poll until it is checked.
		eventually(t, honest, "flags evil", func() bool {
			if _, err := evil.ep.Request(ctx, honest.Key(), methodHeads, wire.Heads{Heads: []wire.SignedHead{forged}}.Marshal()); err != nil {
				t.Fatal(err)
			}
			for _, p := range honest.Peers() {
				if p.Key == evil.Key() {
					return p.Equivocated
				}
			}
			return false
		})
	})
	// Honest peers are unaffected.
	if _, err := honest.Bid(ctx, id.String(), amt(t, "13")); err != nil {
		t.Fatalf("honest bid at the end: %v", err)
	}
	if _, err := seller.CloseAuction(ctx, id.String()); err != nil {
		t.Fatal(err)
	}
	eventually(t, honest, "closed with honest winner", func() bool {
		got, _ := honest.Auction(id.String())
		return got.Status == auction.StatusClosed && got.Winner != nil && got.Winner.Bidder == honest.Key()
	})
}
