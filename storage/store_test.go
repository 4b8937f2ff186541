package storage

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

func openT(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func entry(i int) []byte { return []byte(fmt.Sprintf("entry-%06d-%s", i, strings.Repeat("x", i%50))) }

func appendN(t testing.TB, l *Log, from, n int) {
	t.Helper()
	var es [][]byte
	for i := from; i < from+n; i++ {
		es = append(es, entry(i))
	}
	for len(es) > 0 {
		k := min(len(es), MaxAppendEntries)
		if _, _, err := l.Append(context.Background(), es[:k]...); err != nil {
			t.Fatalf("Append: %v", err)
		}
		es = es[k:]
	}
}

// checkLog verifies the log fully and checks its entries are entry(0..n-1).
func checkLog(t testing.TB, l *Log, n uint64) {
	t.Helper()
	if got := l.Len(); got != n {
		t.Fatalf("Len = %d, want %d", got, n)
	}
	if err := l.Verify(context.Background()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	h := l.Head()
	if n > 0 {
		if err := h.Verify(); err != nil {
			t.Fatalf("head signature: %v", err)
		}
	}
	for s := uint64(0); s < n; s += MaxRange {
		es, err := l.Range(s, min(s+MaxRange, n))
		if err != nil {
			t.Fatalf("Range: %v", err)
		}
		for j, e := range es {
			if want := entry(int(s) + j); !bytes.Equal(e, want) {
				t.Fatalf("entry %d = %q, want %q", s+uint64(j), e, want)
			}
		}
	}
}

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	id := s.Identity()
	own := s.Own()
	if own.Len() != 0 || own.Head().Root != emptyRoot() {
		t.Fatalf("new log: len %d root %x", own.Len(), own.Head().Root)
	}
	first, head, err := own.Append(context.Background(), entry(0))
	if err != nil || first != 0 || head.Length != 1 {
		t.Fatalf("Append = %d %v %v", first, head.Length, err)
	}
	appendN(t, own, 1, 999)
	checkLog(t, own, 1000)
	// RootAt at every length agrees with an independent recomputation.
	r := rf.NewEmptyRange(0)
	for i := range 1000 {
		got, err := own.RootAt(uint64(i))
		if err != nil || got != rootOf(r) {
			t.Fatalf("RootAt(%d) = %x, %v; want %x", i, got, err, rootOf(r))
		}
		_ = r.Append(hasher.HashLeaf(entry(i)), nil)
	}
	if _, err := own.Get(1000); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(1000) err = %v, want ErrNotFound", err)
	}
	if _, err := own.Range(0, MaxRange+1); !errors.Is(err, ErrBadRange) {
		t.Fatalf("Range too long err = %v", err)
	}
	if _, _, err := own.Append(context.Background(), make([]byte, MaxEntrySize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("big entry err = %v", err)
	}
	if h, ok := own.HeadFor(0, 10); !ok || h.Length != 1 {
		t.Fatalf("HeadFor(0,10) = %d %v, want 1", h.Length, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	s2 := openT(t, dir)
	if !bytes.Equal(s2.Identity(), id) {
		t.Fatal("identity changed across reopen")
	}
	checkLog(t, s2.Own(), 1000)
	if got := s2.Logs(); len(got) != 1 || got[0] != s2.Key() {
		t.Fatalf("Logs = %v", got)
	}
	if hs := s2.Heads(); len(hs) != 1 || hs[0].Length != 1000 {
		t.Fatalf("Heads = %v", hs)
	}
	if len(s2.Repairs()) != 0 {
		t.Fatalf("Repairs on clean folder: %v", s2.Repairs())
	}
}

func TestGroupCommit(t *testing.T) {
	s := openT(t, t.TempDir())
	own := s.Own()
	const writers, per = 16, 20
	var wg sync.WaitGroup
	got := make([][]uint64, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				e := []byte(fmt.Sprintf("w%d-%d", w, i))
				first, head, err := own.Append(context.Background(), e, e)
				if err != nil {
					t.Error(err)
					return
				}
				if head.Length < first+2 {
					t.Errorf("head %d does not cover %d", head.Length, first)
				}
				got[w] = append(got[w], first)
			}
		})
	}
	wg.Wait()
	if own.Len() != writers*per*2 {
		t.Fatalf("Len = %d", own.Len())
	}
	for w := range writers {
		for i, first := range got[w] {
			es, err := own.Range(first, first+2)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("w%d-%d", w, i)
			if string(es[0]) != want || string(es[1]) != want {
				t.Fatalf("entries at %d = %q, want %q", first, es, want)
			}
		}
	}
	if err := own.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAppendCanceledAndClosed(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Own().Append(ctx, entry(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled append err = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Own().Append(context.Background(), entry(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close err = %v", err)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	_, err := Open(dir)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.Dir != dir || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open err = %v, want *LockedError naming %s", err, dir)
	}
	// From another process.
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$", "-test.v")
	cmd.Env = append(os.Environ(), "STORAGE_LOCK_CHILD="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "LOCKED:"+dir) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, dir)
	_ = s2
}

// TestLockChild runs in a child process of TestLock.
func TestLockChild(t *testing.T) {
	dir := os.Getenv("STORAGE_LOCK_CHILD")
	if dir == "" {
		t.Skip("child of TestLock only")
	}
	_, err := Open(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Open err = %v", err)
	}
	t.Logf("LOCKED:%s %v", le.Dir, err)
}

func TestRangeAndHeadFor(t *testing.T) {
	s := openT(t, t.TempDir())
	own := s.Own()
	appendN(t, own, 0, 10)
	appendN(t, own, 10, 5)
	h, ok := own.HeadFor(3, 12)
	if !ok || h.Length != 10 {
		t.Fatalf("HeadFor(3,12) = %d %v", h.Length, ok)
	}
	if h, ok := own.HeadFor(10, 100); !ok || h.Length != 15 {
		t.Fatalf("HeadFor(10,100) = %d %v", h.Length, ok)
	}
	if _, ok := own.HeadFor(15, 100); ok {
		t.Fatal("HeadFor past the end")
	}
	if _, ok := own.HeadFor(3, 9); ok {
		t.Fatal("HeadFor with no head in range")
	}
}

func TestIdentityIsSigner(t *testing.T) {
	s := openT(t, t.TempDir())
	_, h, err := s.Own().Append(context.Background(), entry(0))
	if err != nil {
		t.Fatal(err)
	}
	if h.Key != wire.KeyOf(s.Identity()) || h.Verify() != nil {
		t.Fatal("head not signed by the identity")
	}
	if len(s.Identity()) != ed25519.PrivateKeySize {
		t.Fatal("identity size")
	}
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := numGoroutine()
		if n <= want || time.Now().After(deadline) {
			if n > want {
				t.Errorf("goroutines = %d, want <= %d", n, want)
			}
			return
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline, not synchronisation
	}
}

// TestRootAtMemo: remembered prefix roots stay right as the log grows past them, when the memo
// fills and is cleared, and for another log's prefix of the same length.
func TestRootAtMemo(t *testing.T) {
	s := openT(t, t.TempDir())
	own := s.Own()
	appendN(t, own, 0, 300)
	roots := make([]wire.Hash, 301)
	r := rf.NewEmptyRange(0)
	for i := range 301 {
		roots[i] = rootOf(r)
		if i < 300 {
			_ = r.Append(hasher.HashLeaf(entry(i)), nil)
		}
	}
	check := func(stage string) {
		t.Helper()
		for i := range 300 {
			if got, err := own.RootAt(uint64(i)); err != nil || got != roots[i] {
				t.Fatalf("%s: RootAt(%d) = %x, %v; want %x", stage, i, got, err, roots[i])
			}
		}
	}
	check("first")
	check("remembered")
	appendN(t, own, 300, 10)
	check("after appends")
	if got, err := own.RootAt(300); err != nil || got != roots[300] {
		t.Fatalf("RootAt(300) after appends = %x, %v; want %x", got, err, roots[300])
	}
	// Fill the memo to its bound: the next new root clears it, and the others are computed
	// again.
	for i := 0; len(s.roots) < maxRootMemo; i++ {
		s.roots[rootKey{wire.PeerKey{byte(i), byte(i >> 8), 1}, 1}] = wire.Hash{}
	}
	r305 := rf.NewEmptyRange(0)
	for i := range 305 {
		_ = r305.Append(hasher.HashLeaf(entry(i)), nil)
	}
	if got, err := own.RootAt(305); err != nil || got != rootOf(r305) {
		t.Fatalf("RootAt(305) = %x, %v; want %x", got, err, rootOf(r305))
	}
	if len(s.roots) != 1 {
		t.Fatalf("memo holds %d roots after it filled, want 1 (cleared, then the new root)", len(s.roots))
	}
	check("after the memo was cleared")
	// A log the store does not hold has no prefix of length 1.
	if _, err := s.Log(wire.PeerKey{9}).RootAt(1); !errors.Is(err, ErrBadRange) {
		t.Fatalf("RootAt(1) of an empty log: err = %v, want ErrBadRange", err)
	}
}
