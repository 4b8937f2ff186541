package storage

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"runtime"
	"slices"
	"testing"

	"github.com/auction-tui/auction-tui/wire"
)

func numGoroutine() int { return runtime.NumGoroutine() }

// writer is a log kept by a test "peer": its key and entries, signing heads at any length.
type writer struct {
	priv    ed25519.PrivateKey
	entries [][]byte
}

func newWriter(t testing.TB, n int) *writer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &writer{priv: priv}
	for i := range n {
		w.entries = append(w.entries, entry(i))
	}
	return w
}

func (w *writer) key() wire.PeerKey { return wire.KeyOf(w.priv) }

func rootOver(es [][]byte) wire.Hash {
	r := rf.NewEmptyRange(0)
	for _, e := range es {
		_ = r.Append(hasher.HashLeaf(e), nil)
	}
	return rootOf(r)
}

func (w *writer) head(n int) wire.SignedHead {
	return wire.SignHead(w.priv, wire.Head{Key: w.key(), Length: uint64(n), Root: rootOver(w.entries[:n])})
}

func TestImport(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	w := newWriter(t, 300)
	ctx := context.Background()
	added, err := s.Import(ctx, w.head(100), 0, w.entries[:100])
	if err != nil || added != 100 {
		t.Fatalf("Import = %d, %v", added, err)
	}
	// Overlapping range extending the log.
	added, err = s.Import(ctx, w.head(200), 50, w.entries[50:200])
	if err != nil || added != 100 {
		t.Fatalf("overlapping Import = %d, %v", added, err)
	}
	// Fully overlapping, older head: nothing new, no error.
	if added, err = s.Import(ctx, w.head(150), 140, w.entries[140:150]); err != nil || added != 0 {
		t.Fatalf("old Import = %d, %v", added, err)
	}
	l := s.Log(w.key())
	checkLog(t, l, 200)
	if h, ok := l.HeadFor(100, 300); !ok || h.Length != 200 {
		t.Fatalf("HeadFor = %d %v", h.Length, ok)
	}
	if h, ok := l.HeadFor(0, 150); !ok || h.Length != 100 {
		t.Fatalf("HeadFor = %d %v", h.Length, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, dir)
	checkLog(t, s2.Log(w.key()), 200)
	if len(s2.Logs()) != 1 {
		t.Fatalf("Logs = %v", s2.Logs())
	}
}

func TestImportRejects(t *testing.T) {
	ctx := context.Background()
	w := newWriter(t, 100)
	other := newWriter(t, 0)
	badSig := w.head(100)
	badSig.Sig[0] ^= 1
	wrongRoot := w.head(100)
	wrongRoot.Root[0] ^= 1
	wrongRoot = wire.SignHead(w.priv, wrongRoot.Head)
	changed := make([][]byte, 100)
	copy(changed, w.entries)
	changed[50] = []byte("tampered")
	foreign := wire.SignHead(other.priv, w.head(100).Head) // claims w's key, signed by another
	forked := wire.SignHead(w.priv, wire.Head{Key: w.key(), Length: 100, Root: w.head(100).Root, Fork: 1})
	cases := []struct {
		name    string
		head    wire.SignedHead
		start   uint64
		entries [][]byte
		want    error
	}{
		{"bad signature", badSig, 0, w.entries, ErrVerify},
		{"wrong root", wrongRoot, 0, w.entries, ErrVerify},
		{"entry changed in the middle", w.head(100), 0, changed, ErrVerify},
		{"head signed by another key", foreign, 0, w.entries, ErrVerify},
		{"fork", forked, 0, w.entries, ErrVerify},
		{"gap", w.head(100), 10, w.entries[10:], ErrGap},
		{"range not ending at head", w.head(100), 0, w.entries[:90], ErrBadRange},
		{"too many", w.head(100), 0, make([][]byte, MaxRange+1), ErrBadRange},
		{"entry too large", w.head(100), 0, [][]byte{make([]byte, MaxEntrySize+1)}, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openT(t, t.TempDir())
			_, err := s.Import(ctx, tc.head, tc.start, tc.entries)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ve *VerifyError
			if tc.want == ErrVerify && (!errors.As(err, &ve) || ve.Key != w.key()) {
				t.Fatalf("err = %#v, want *VerifyError for the log", err)
			}
			if l := s.Log(w.key()); l.Len() != 0 {
				t.Fatalf("stored %d entries after failure", l.Len())
			}
			if len(s.Logs()) != 0 {
				t.Fatal("log listed after failure")
			}
		})
	}
	t.Run("own log", func(t *testing.T) {
		s := openT(t, t.TempDir())
		own := &writer{priv: s.Identity(), entries: w.entries}
		if _, err := s.Import(ctx, own.head(100), 0, own.entries); !errors.Is(err, ErrOwnLog) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("changed overlapping entry", func(t *testing.T) {
		s := openT(t, t.TempDir())
		if _, err := s.Import(ctx, w.head(50), 0, w.entries[:50]); err != nil {
			t.Fatal(err)
		}
		bad := make([][]byte, 60)
		copy(bad, w.entries[40:100])
		bad[5] = []byte("changed")
		if _, err := s.Import(ctx, w.head(100), 40, bad); !errors.Is(err, ErrVerify) {
			t.Fatalf("err = %v", err)
		}
		checkLog(t, s.Log(w.key()), 50)
	})
}

func TestEquivocation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir)
	w := newWriter(t, 100)
	if _, err := s.Import(ctx, w.head(100), 0, w.entries); err != nil {
		t.Fatal(err)
	}
	// A second history of the same key: same first 60 entries, then different ones.
	alt := &writer{priv: w.priv, entries: append([][]byte{}, w.entries[:60]...)}
	for i := 60; i < 120; i++ {
		alt.entries = append(alt.entries, []byte("alt"+string(rune('a'+i%26))))
	}
	if need, err := s.ObserveHead(alt.head(60)); err != nil || need {
		t.Fatalf("consistent head: need %v err %v", need, err)
	}
	if need, err := s.ObserveHead(alt.head(120)); err != nil || !need {
		t.Fatalf("longer head: need %v err %v", need, err)
	}
	need, err := s.ObserveHead(alt.head(80))
	var ee *EquivocationError
	if need || !errors.As(err, &ee) || !errors.Is(err, ErrEquivocation) || ee.Key != w.key() {
		t.Fatalf("ObserveHead(inconsistent) = %v, %v", need, err)
	}
	if ee.A.Verify() != nil || ee.B.Verify() != nil || ee.A.Length != 100 || ee.B.Length != 80 {
		t.Fatalf("proof heads: %+v", ee)
	}
	// Flagged: imports refused.
	if _, err := s.Import(ctx, w.head(100), 100, nil); !errors.Is(err, ErrEquivocation) {
		t.Fatalf("import of flagged log err = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, dir)
	a, b, ok := s2.Equivocation(w.key())
	if !ok || a != ee.A || b != ee.B {
		t.Fatalf("Equivocation after reopen = %v %v %v", a.Length, b.Length, ok)
	}
	if _, err := s2.Import(ctx, w.head(100), 100, nil); !errors.Is(err, ErrEquivocation) {
		t.Fatalf("import after reopen err = %v", err)
	}
	checkLog(t, s2.Log(w.key()), 100)

	// Import detects it too: a valid head at a stored length with another root.
	s3 := openT(t, t.TempDir())
	if _, err := s3.Import(ctx, w.head(100), 0, w.entries); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Import(ctx, alt.head(90), 90, alt.entries[90:90]); err == nil {
		// empty range [90,90) with head length 90 is accepted as a head-only import
		t.Fatal("no error")
	} else if !errors.Is(err, ErrEquivocation) {
		t.Fatalf("import err = %v", err)
	}
	if _, _, ok := s3.Equivocation(w.key()); !ok {
		t.Fatal("not flagged")
	}
}

func TestObserveHeadBadSig(t *testing.T) {
	s := openT(t, t.TempDir())
	w := newWriter(t, 5)
	h := w.head(5)
	h.Sig[3] ^= 0xff
	if _, err := s.ObserveHead(h); !errors.Is(err, ErrVerify) {
		t.Fatalf("err = %v", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := numGoroutine()
	const cycles = 3
	for range cycles {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, s.Own(), 0, 10)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Everything this package starts must be gone, nutsdb's writer goroutines included
	// (the patched nutsdb in third_party/nutsdb ends them; v1.1.0 does not).
	waitGoroutines(t, before)
	_ = bytes.Equal
}

func TestHeadsGen(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	w := newWriter(t, 20)
	step := func(name string, change func() error, wantMoved bool) {
		t.Helper()
		_, before := s.HeadsGen()
		if err := change(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		hs, after := s.HeadsGen()
		if moved := after != before; moved != wantMoved {
			t.Fatalf("%s: generation %d -> %d, want moved = %v", name, before, after, wantMoved)
		}
		if want := s.Heads(); !slices.Equal(hs, want) {
			t.Fatalf("%s: HeadsGen heads %v, Heads %v", name, hs, want)
		}
	}
	step("nothing", func() error { return nil }, false)
	step("own append", func() error { _, _, err := s.Own().Append(ctx, entry(1)); return err }, true)
	step("import", func() error { _, err := s.Import(ctx, w.head(10), 0, w.entries[:10]); return err }, true)
	step("import of nothing new", func() error { _, err := s.Import(ctx, w.head(10), 5, w.entries[5:10]); return err }, false)
	step("observed head", func() error { _, err := s.ObserveHead(w.head(20)); return err }, false)
	step("import extends", func() error { _, err := s.Import(ctx, w.head(20), 10, w.entries[10:20]); return err }, true)
	if hs, _ := s.HeadsGen(); len(hs) != 2 {
		t.Fatalf("%d heads, want 2 (own log and one replica)", len(hs))
	}
}
