package storage

import (
	"context"
	"testing"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/nutsdb/nutsdb"
)

// storedHeads returns the lengths of the stored heads of log k, ascending.
func storedHeads(t *testing.T, s *Store, k wire.PeerKey) []uint64 {
	t.Helper()
	var out []uint64
	err := s.dbFor(k).db.View(func(tx *nutsdb.Tx) error {
		keys, _, err := tx.RangeScanEntries(bHeads, entryKey(k, 0), entryKey(k, 1<<62), true, false)
		if err != nil {
			if isEmptyErr(err) {
				return nil
			}
			return err
		}
		for _, key := range keys {
			out = append(out, beUint64(key[wire.KeySize:]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// checkHeadHistory checks the thinned head history of log l holding n entries, whose commits
// or imports ended every step entries: every head in the last headWindow entries is stored, at most one per headSpacing span behind the window, and HeadFor
// serves every start with a range of at least MaxRange-2*headSpacing entries (or to the end).
func checkHeadHistory(t *testing.T, s *Store, l *Log, n, step uint64) {
	t.Helper()
	heads := storedHeads(t, s, l.Key())
	if limit := (headWindow+headSpacing)/step + n/headSpacing + 2; uint64(len(heads)) > limit {
		t.Fatalf("%d heads stored for %d entries, want at most %d", len(heads), n, limit)
	}
	stored := make(map[uint64]bool, len(heads))
	for _, h := range heads {
		stored[h] = true
	}
	for h := n; h+headWindow > n && h > 0; h -= step {
		if !stored[h] {
			t.Fatalf("head at %d (within %d of the length %d) not stored", h, headWindow, n)
		}
	}
	for start := uint64(0); start < n; start++ {
		h, ok := l.HeadFor(start, n)
		if !ok {
			t.Fatalf("HeadFor(%d, %d): no head", start, n)
		}
		if want := min(start+MaxRange-2*headSpacing, n); h.Length < want || h.Length > start+MaxRange {
			t.Fatalf("HeadFor(%d, %d) = %d, want in [%d, %d]", start, n, h.Length, want, start+MaxRange)
		}
	}
	// Within the window, HeadFor ends exactly where asked.
	for end := n; end+headWindow > n && end > 0 && end%step == 0; end -= step {
		if h, ok := l.HeadFor(end-1, end); !ok || h.Length != end {
			t.Fatalf("HeadFor(%d, %d) = %d %v, want %d", end-1, end, h.Length, ok, end)
		}
	}
}

func mustRange(t *testing.T, l *Log, start, end uint64) [][]byte {
	t.Helper()
	es, err := l.Range(start, end)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestHeadHistoryThinned: a replica filled one entry per import (as live propagation does) and
// an own log filled by small appends keep every recent head but only a sparse history, which
// still serves every start, and survives a reopen; a fresh store imports the whole replica
// back from it in ranges served by HeadFor.
func TestHeadHistoryThinned(t *testing.T) {
	const replicaEntries = 3000
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, replicaEntries)
	r := rf.NewEmptyRange(0)
	for i, e := range w.entries {
		_ = r.Append(hasher.HashLeaf(e), nil)
		h := wire.SignHead(w.priv, wire.Head{Key: w.key(), Length: uint64(i + 1), Root: rootOf(r)})
		if _, err := s.Import(context.Background(), h, uint64(i), w.entries[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	const appends, per = 600, 4
	var es [][]byte
	for i := range appends * per {
		es = append(es, entry(i))
	}
	for i := 0; i < len(es); i += per {
		if _, _, err := s.Own().Append(context.Background(), es[i:i+per]...); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Store) {
		checkHeadHistory(t, s, s.Log(w.key()), replicaEntries, 1)
		checkHeadHistory(t, s, s.Own(), appends*per, per)
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	check(s)
	// Catch-up of a fresh store from the thinned history, as a fetcher does.
	s2 := openT(t, t.TempDir())
	for _, src := range []*Log{s.Log(w.key()), s.Own()} {
		n := src.Len()
		for next := uint64(0); next < n; {
			h, ok := src.HeadFor(next, n)
			if !ok {
				t.Fatalf("HeadFor(%d): no head", next)
			}
			if _, err := s2.Import(context.Background(), h, next, mustRange(t, src, next, h.Length)); err != nil {
				t.Fatal(err)
			}
			next = h.Length
		}
		if err := s2.Log(src.Key()).Verify(context.Background()); err != nil || s2.Log(src.Key()).Len() != n {
			t.Fatalf("caught-up copy of %s: %d entries, %v", src.Key().Short(), s2.Log(src.Key()).Len(), err)
		}
	}
	checkLog(t, s2.Log(w.key()), replicaEntries)
}
