package peer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestOwnLogRecoveredFromPeers: a seller whose data folder went back in time (a disk that lost
// writes it had acknowledged) gets its lost entries back from a peer, verified against its own
// signature, before it appends anything new, so nobody sees two versions of its log.
func TestOwnLogRecoveredFromPeers(t *testing.T) {
	m := newMarket(t)
	seller, bidder := m.start("seller"), m.start("bidder")
	ctx := context.Background()
	eventually(t, bidder, "connected", connectedTo(bidder, 1))
	if _, err := seller.Open(ctx, "Vase", amt(t, "5"), 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, bidder, "sees Vase", func() bool { _, ok := findItem(bidder, "Vase"); return ok })
	seller.Close()
	dir := filepath.Join(m.dir, "seller")
	snapshot := filepath.Join(t.TempDir(), "seller-then")
	if out, err := exec.Command("cp", "-a", "--sparse=always", dir, snapshot).CombinedOutput(); err != nil {
		t.Fatalf("snapshot: %v %s", err, out)
	}

	seller = m.start("seller")
	kite, err := seller.Open(ctx, "Kite", amt(t, "7"), 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, bidder, "sees Kite", func() bool { _, err := bidder.Auction(kite.ID.String()); return err == nil })
	if _, err := bidder.Bid(ctx, kite.ID.String(), amt(t, "8")); err != nil {
		t.Fatal(err)
	}
	lost := seller.store.Own().Len()
	// The bidder holds the seller's whole log (the push of the bid's entry may still be on its
	// way when Bid returns: the receipt comes first).
	eventually(t, bidder, "holds the seller's log", func() bool { return bidder.store.Log(seller.Key()).Len() == lost })
	seller.Close()

	// The folder goes back to the snapshot: the open of Kite and the bid on it are lost locally.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "--sparse=always", snapshot, dir).CombinedOutput(); err != nil {
		t.Fatalf("restore: %v %s", err, out)
	}
	events := bidder.Subscribe(ctx)
	seller = m.start("seller")
	if seller.store.Own().Len() >= lost {
		t.Fatalf("the restored folder holds %d entries; the test needs fewer than %d", seller.store.Own().Len(), lost)
	}
	eventually(t, seller, "lost entries recovered and replayed", func() bool {
		got, err := seller.Auction(kite.ID.String())
		return err == nil && len(got.Bids) == 1
	})
	if got := seller.store.Own().Len(); got != lost {
		t.Fatalf("own log holds %d entries after recovery, want %d", got, lost)
	}
	if err := seller.store.Own().Verify(ctx); err != nil {
		t.Fatal(err)
	}
	// New entries extend the recovered log: the bidder takes them without seeing a fork.
	lamp, err := seller.Open(ctx, "Lamp", amt(t, "3"), 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, bidder, "sees Lamp", func() bool { _, err := bidder.Auction(lamp.ID.String()); return err == nil })
	for {
		select {
		case e := <-events:
			if e.Kind == EventEquivocation {
				t.Fatalf("the bidder saw an equivocation: %+v", e.Peer)
			}
			continue
		default:
		}
		break
	}
	if _, err := bidder.Bid(ctx, lamp.ID.String(), amt(t, "4")); err != nil {
		t.Fatalf("bid after the seller's recovery: %v", err)
	}
}
