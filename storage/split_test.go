package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nutsdb/nutsdb"
)

// importAll imports w's entries [from, to) in one range ending at a head signed at to.
func importAll(t testing.TB, s *Store, w *writer, from, to int) {
	t.Helper()
	if _, err := s.Import(context.Background(), w.head(to), uint64(from), w.entries[from:to]); err != nil {
		t.Fatalf("Import [%d, %d): %v", from, to, err)
	}
}

// TestReplicaDatabase: replicas live in the replica database, the own log in the own one, and
// both survive a clean Close and Open.
func TestReplicaDatabase(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, 300)
	importAll(t, s, w, 0, 100)
	importAll(t, s, w, 100, 300)
	appendN(t, s.Own(), 0, 40)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if ids, err := dataFiles(filepath.Join(dir, ReplicaDir)); err != nil || len(ids) == 0 {
		t.Fatalf("replica data files: %v %v", ids, err)
	}

	s2 := openT(t, dir)
	checkLog(t, s2.Log(w.key()), 300)
	checkLog(t, s2.Own(), 40)
	if got := s2.Logs(); len(got) != 2 {
		t.Fatalf("Logs = %d keys, want 2", len(got))
	}
	if h, ok := s2.Log(w.key()).HeadFor(100, 300); !ok || h.Length != 300 {
		t.Fatalf("HeadFor = %d %v", h.Length, ok)
	}
	// Each log's records are in its own database only.
	has := func(d *kvdb, k []byte) bool {
		found := false
		_ = d.db.View(func(tx *nutsdb.Tx) error {
			_, err := tx.Get(bHead, k)
			found = err == nil
			return nil
		})
		return found
	}
	wk, ok := w.key(), s2.Key()
	if !has(s2.rep, wk[:]) || has(s2.own, wk[:]) || !has(s2.own, ok[:]) || has(s2.rep, ok[:]) {
		t.Fatal("a log's head is in the wrong database")
	}
	if len(s2.Repairs()) != 0 {
		t.Fatalf("repairs after a clean close: %+v", s2.Repairs())
	}
}

// TestReplicaTornTail damages the tail of the replica database: Open cuts it, reports it with a
// path inside ReplicaDir, the replica loses at most its last import and the own log is untouched
// byte for byte.
func TestReplicaTornTail(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, f *os.File, end int64)
		lost   bool // the last import is lost (else only garbage after it is cut)
	}{
		{"zeroes over the last record's tail", func(t *testing.T, f *os.File, end int64) {
			writeAt(t, f, make([]byte, 40), end-40)
		}, true},
		{"garbage over the last record's tail", func(t *testing.T, f *os.File, end int64) {
			writeAt(t, f, bytes.Repeat([]byte{0xA5, 0x17, 0xFF}, 30), end-50)
		}, true},
		{"garbage after the last record", func(t *testing.T, f *os.File, end int64) {
			writeAt(t, f, bytes.Repeat([]byte{0x5A}, 300), end)
		}, false},
		{"file cut mid-record", func(t *testing.T, f *os.File, end int64) {
			if err := f.Truncate(end - 30); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			w := newWriter(t, 110)
			appendN(t, s.Own(), 0, 50)
			importAll(t, s, w, 0, 100)
			importAll(t, s, w, 100, 103) // the last import: 3 entries + head records
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			ownPath, ownEnd := newestDataFile(t, dir)
			ownBefore := readData(t, ownPath, ownEnd)
			path, end := newestDataFile(t, filepath.Join(dir, ReplicaDir))
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, f, end)
			_ = f.Close()

			s2 := openT(t, dir)
			want := uint64(103)
			if tc.lost {
				want = 100
			}
			checkLog(t, s2.Log(w.key()), want)
			checkLog(t, s2.Own(), 50)
			reps := s2.Repairs()
			if len(reps) == 0 && tc.name != "file cut mid-record" {
				t.Fatal("no repair reported")
			}
			for _, r := range reps {
				if r.Log == s2.Key() || (r.File != "" && !strings.HasPrefix(r.File, ReplicaDir+string(filepath.Separator))) {
					t.Fatalf("repair outside the replica database: %+v", r)
				}
				if r.File != "" {
					if b, err := os.ReadFile(filepath.Join(dir, r.CutFile)); err != nil || int64(len(b)) != r.CutBytes || r.CutBytes <= 0 {
						t.Fatalf("cut file %s: %d bytes, %v (repair %+v)", r.CutFile, len(b), err, r)
					}
				}
			}
			if _, end := newestDataFile(t, dir); end != ownEnd || !bytes.Equal(readData(t, ownPath, ownEnd), ownBefore) {
				t.Fatalf("own data file changed by the replica repair: end %d, was %d", end, ownEnd)
			}
			// The replica is fetched again and everything survives another reopen.
			importAll(t, s2, w, int(want), 110)
			appendN(t, s2.Own(), 50, 5)
			if err := s2.Close(); err != nil {
				t.Fatal(err)
			}
			s3 := openT(t, dir)
			checkLog(t, s3.Log(w.key()), 110)
			checkLog(t, s3.Own(), 55)
			if len(s3.Repairs()) != 0 {
				t.Fatalf("repairs on second reopen: %+v", s3.Repairs())
			}
		})
	}
}

// readData returns the first n bytes of the data file at path (the segment is preallocated:
// reading all of it would read 256 MiB).
func readData(t *testing.T, path string, n int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReplicaDatabaseDiscarded damages an older data file of the replica database (a page lost
// in a power failure, which a torn-tail cut cannot fix): Open moves the folder aside, reports it,
// and the own log is intact.
func TestReplicaDatabaseDiscarded(t *testing.T) {
	dir := t.TempDir()
	const seg = 64 << 10
	s, err := Open(dir, withSegmentSize(seg))
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, 2000)
	for i := 0; i < 2000; i += 100 {
		importAll(t, s, w, i, i+100)
	}
	appendN(t, s.Own(), 0, 30)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rdir := filepath.Join(dir, ReplicaDir)
	ids, err := dataFiles(rdir)
	if err != nil || len(ids) < 3 {
		t.Fatalf("want >= 3 replica data files, got %v %v", ids, err)
	}
	f, err := os.OpenFile(filepath.Join(rdir, fmt.Sprintf("%d.dat", ids[0])), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	writeAt(t, f, bytes.Repeat([]byte{0xEE}, 64), 4096)
	_ = f.Close()

	s2, err := Open(dir, withSegmentSize(seg))
	if err != nil {
		t.Fatalf("Open after damage: %v", err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	checkLog(t, s2.Own(), 30)
	reps := s2.Repairs()
	if len(reps) != 1 || reps[0].File != ReplicaDir || reps[0].CutBytes <= 0 {
		t.Fatalf("repairs = %+v", reps)
	}
	if fi, err := os.Stat(filepath.Join(dir, reps[0].CutFile)); err != nil || !fi.IsDir() {
		t.Fatalf("discarded folder %s: %v", reps[0].CutFile, err)
	}
	if n := s2.Log(w.key()).Len(); n != 0 {
		t.Fatalf("replica length %d after discard, want 0", n)
	}
	for i := 0; i < 2000; i += 500 {
		importAll(t, s2, w, i, i+500)
	}
	checkLog(t, s2.Log(w.key()), 2000)
}

// TestConcurrentImports imports many logs from many goroutines while the own log is appended,
// then checks every log after a reopen. Run under -race it checks the per-log import locks.
func TestConcurrentImports(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	const logs, n = 8, 60
	ws := make([]*writer, logs)
	for i := range ws {
		ws[i] = newWriter(t, n)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 2*logs+1)
	for _, w := range ws {
		// Two goroutines per log race on the same log with single-entry ranges; the loser of a
		// race gets ErrGap or adds nothing, and retries.
		for range 2 {
			wg.Go(func() {
				for i := 0; i < n; {
					_, err := s.Import(context.Background(), w.head(i+1), uint64(i), w.entries[i:i+1])
					switch {
					case err == nil:
						i++
					case errors.Is(err, ErrGap):
						i = int(s.Log(w.key()).Len())
					default:
						errc <- err
						return
					}
				}
			})
		}
	}
	wg.Go(func() {
		for i := range n {
			if _, _, err := s.Own().Append(context.Background(), entry(i)); err != nil {
				errc <- err
				return
			}
		}
	})
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, dir)
	for _, w := range ws {
		checkLog(t, s2.Log(w.key()), n)
	}
	checkLog(t, s2.Own(), n)
}
