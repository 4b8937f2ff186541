package storage

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/auction-tui/auction-tui/wire"
)

// copyDir copies a closed store folder (files only, recursively).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func openSmall(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, withSegmentSize(1<<20))
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRecoverOwn: a store that lost signed entries of its own log gets them back from a peer's
// copy, verified; a copy that disagrees with what it holds is refused and changes nothing.
func TestRecoverOwn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, withSegmentSize(1<<20)) // small data files: the folder is copied
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s.Own(), 0, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(t.TempDir(), "short")   // the store as it was at 3 entries
	forked := filepath.Join(t.TempDir(), "forked") // ... that then signed another entry 3
	copyDir(t, dir, short)
	copyDir(t, dir, forked)

	s = openSmall(t, dir)
	appendN(t, s.Own(), 3, 7) // the peers' copy: 10 entries
	head := s.Own().Head()
	peerCopy := mustRange(t, s.Own(), 3, 10)

	f := openSmall(t, forked)
	if _, _, err := f.Own().Append(ctx, []byte("another entry 3")); err != nil {
		t.Fatal(err)
	}

	r := openSmall(t, short)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	foreign := wire.SignHead(otherPriv, wire.Head{Key: wire.KeyOf(otherPriv), Length: head.Length, Root: head.Root})
	forged := head
	forged.Root[0] ^= 1
	tampered := append([][]byte{[]byte("not entry 3")}, peerCopy[1:]...)
	cases := []struct {
		name    string
		st      *Store
		head    wire.SignedHead
		start   uint64
		entries [][]byte
		want    error
	}{
		{"another key's head", r, foreign, 3, peerCopy, ErrVerify},
		{"bad signature", r, forged, 3, peerCopy, ErrVerify},
		{"entry changed", r, head, 3, tampered, ErrVerify},
		{"gap", r, head, 4, peerCopy[1:], ErrGap},
		{"wrong end", r, head, 3, peerCopy[:6], ErrBadRange},
		{"own log forked after the loss", f, head, 3, peerCopy, ErrEquivocation},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := c.st.Own().Head()
			if _, err := c.st.RecoverOwn(ctx, c.head, c.start, c.entries); !errors.Is(err, c.want) {
				t.Fatalf("RecoverOwn: %v, want %v", err, c.want)
			}
			if c.st.Own().Head() != before {
				t.Fatal("a refused recovery changed the own log")
			}
		})
	}
	added, err := r.RecoverOwn(ctx, head, 3, peerCopy)
	if err != nil || added != 7 {
		t.Fatalf("RecoverOwn = %d, %v; want 7 added", added, err)
	}
	checkLog(t, r.Own(), 10)
	if r.Own().Head() != head {
		t.Fatal("recovered head differs from the peer's copy")
	}
	// Again: nothing new, nothing changes; then appends continue after the recovered entries.
	if added, err := r.RecoverOwn(ctx, head, 3, peerCopy); err != nil || added != 0 {
		t.Fatalf("second RecoverOwn = %d, %v", added, err)
	}
	appendN(t, r.Own(), 10, 2)
	checkLog(t, r.Own(), 12)
	// Durable: a reopen holds them.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	checkLog(t, openSmall(t, short).Own(), 12)
}
