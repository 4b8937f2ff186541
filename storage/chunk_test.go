package storage

import (
	"bytes"
	"context"
	"testing"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/nutsdb/nutsdb"
)

// storedKeys returns how many single-entry keys and sealed chunks log k has in its database.
func storedKeys(t testing.TB, s *Store, k wire.PeerKey) (singles, chunks int) {
	t.Helper()
	err := s.dbFor(k).db.View(func(tx *nutsdb.Tx) error {
		for _, c := range []struct {
			bucket string
			n      *int
		}{{bEntries, &singles}, {bChunks, &chunks}} {
			keys, _, err := tx.PrefixScanEntries(c.bucket, k[:], "", 0, 1<<30, true, false)
			if err != nil && !isEmptyErr(err) {
				return err
			}
			*c.n = len(keys)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return singles, chunks
}

// checkLayout checks the invariant of chunk.go for a log of length n: n/chunkEntries sealed
// chunks and n%chunkEntries single keys.
func checkLayout(t testing.TB, s *Store, k wire.PeerKey, n uint64) {
	t.Helper()
	singles, chunks := storedKeys(t, s, k)
	if uint64(chunks) != n/chunkEntries || uint64(singles) != n%chunkEntries {
		t.Fatalf("log of %d entries: %d chunks and %d single keys, want %d and %d",
			n, chunks, singles, n/chunkEntries, n%chunkEntries)
	}
}

// TestChunksOwnLog appends in batches that cross chunk boundaries in every way (one entry at a
// time, batches ending on a boundary, batches spanning several chunks), and after every batch and
// after a reopen checks the layout, every entry and every root.
func TestChunksOwnLog(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	own := s.Own()
	n := 0
	for _, batch := range []int{1, 1, 61, 1, 2, 63, 64, 200, 7, 130, 1} {
		appendN(t, own, n, batch)
		n += batch
		checkLayout(t, s, own.Key(), uint64(n))
		checkLog(t, own, uint64(n))
	}
	var es [][]byte
	for i := range n {
		es = append(es, entry(i))
	}
	for m := 0; m <= n; m++ {
		got, err := own.RootAt(uint64(m))
		if err != nil || got != rootOver(es[:m]) {
			t.Fatalf("RootAt(%d) = %x, %v; want %x", m, got, err, rootOver(es[:m]))
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	checkLayout(t, s, s.Own().Key(), uint64(n))
	checkLog(t, s.Own(), uint64(n))
	appendN(t, s.Own(), n, 3)
	checkLog(t, s.Own(), uint64(n+3))
}

// TestChunksReplica imports ranges that start inside a sealed chunk, end on and across chunk
// boundaries and overlap what is stored, and checks layout, entries and Range across chunks.
func TestChunksReplica(t *testing.T) {
	s := openT(t, t.TempDir())
	w := newWriter(t, 5000)
	k := w.key()
	for _, r := range [][2]int{{0, 1}, {1, 64}, {30, 129}, {129, 130}, {100, 4196}, {4196, 4260}, {4200, 5000}} {
		importAll(t, s, w, r[0], r[1])
		checkLayout(t, s, k, uint64(r[1]))
		got, err := s.Log(k).Range(uint64(max(r[1]-200, 0)), uint64(r[1]))
		if err != nil {
			t.Fatalf("Range after import of [%d, %d): %v", r[0], r[1], err)
		}
		for j, e := range got {
			if i := max(r[1]-200, 0) + j; !bytes.Equal(e, w.entries[i]) {
				t.Fatalf("entry %d = %q, want %q", i, e, w.entries[i])
			}
		}
	}
	if err := s.Log(k).Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, m := range []uint64{0, 1, 63, 64, 65, 127, 128, 4095, 4096, 4097, 4999} {
		if got, err := s.Log(k).RootAt(m); err != nil || got != rootOver(w.entries[:m]) {
			t.Fatalf("RootAt(%d) = %x, %v", m, got, err)
		}
	}
}

// TestTruncateRecords cuts a log inside a sealed chunk, on a chunk boundary and inside the tail:
// the kept entries read back, the layout invariant holds for the kept length, and appends
// after the cut seal chunks again.
func TestTruncateRecords(t *testing.T) {
	for _, tc := range []struct{ n, keep uint64 }{
		{200, 70}, {200, 128}, {200, 199}, {200, 0}, {64, 63}, {10, 5},
	} {
		s := openT(t, t.TempDir())
		w := newWriter(t, int(tc.n)+200)
		k := w.key()
		importAll(t, s, w, 0, int(tc.n))
		err := s.rep.update(func(tx *nutsdb.Tx) error { return truncateRecords(tx, k, tc.keep, tc.n) })
		if err != nil {
			t.Fatalf("cut %d to %d: %v", tc.n, tc.keep, err)
		}
		checkLayout(t, s, k, tc.keep)
		err = s.rep.db.View(func(tx *nutsdb.Tx) error {
			rd := newRecordReader(tx, k)
			for i := range tc.keep + 5 {
				_, e, err := rd.entry(i)
				switch {
				case i < tc.keep && (err != nil || !bytes.Equal(e, w.entries[i])):
					t.Errorf("cut %d to %d: entry %d = %q, %v", tc.n, tc.keep, i, e, err)
				case i >= tc.keep && err == nil:
					t.Errorf("cut %d to %d: entry %d still stored", tc.n, tc.keep, i)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Extend past the cut as the next import would, from the kept prefix.
		rng := rf.NewEmptyRange(0)
		if _, err := appendLeaves(rng, w.entries[:tc.keep]); err != nil {
			t.Fatal(err)
		}
		more := w.entries[tc.keep : tc.keep+150]
		nodes, err := appendLeaves(rng, more)
		if err != nil {
			t.Fatal(err)
		}
		err = s.rep.update(func(tx *nutsdb.Tx) error {
			return putExtension(tx, w.head(int(tc.keep)+150), tc.keep, nodes, more)
		})
		if err != nil {
			t.Fatal(err)
		}
		checkLayout(t, s, k, tc.keep+150)
	}
}

// TestDecodeChunkRejects: a stored chunk that is not exactly chunkEntries well-formed records in
// their shortest encoding is refused.
func TestDecodeChunkRejects(t *testing.T) {
	full := make([][]byte, chunkEntries)
	for i := range full {
		full[i] = []byte{0, byte(i)}
	}
	good := encodeChunk(full)
	if _, err := decodeChunk(good); err != nil {
		t.Fatalf("good chunk: %v", err)
	}
	long := bytes.Clone(good)
	long[0] = 0x82 // length 2 as a two-byte uvarint: 0x82 0x00
	long = append(long[:1], append([]byte{0x00}, long[1:]...)...)
	for name, v := range map[string][]byte{
		"empty":              nil,
		"one record short":   encodeChunk(full[:chunkEntries-1]),
		"one record more":    encodeChunk(append(full, []byte{1})),
		"truncated":          good[:len(good)-1],
		"length past end":    append(bytes.Clone(good[:len(good)-3]), 0x7f),
		"non-minimal length": long,
		"oversized record":   binaryRecord(maxRecordSize + 1),
	} {
		if _, err := decodeChunk(v); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// binaryRecord returns a chunk whose first record claims n bytes and holds them.
func binaryRecord(n int) []byte {
	return append(encodeChunk(nil), append(uvarintBytes(uint64(n)), make([]byte, n)...)...)
}

func uvarintBytes(n uint64) []byte { return encodeChunk([][]byte{make([]byte, n)})[:uvarintLen(n)] }

// FuzzDecodeChunk: decodeChunk never panics, and what it accepts re-encodes to the same bytes.
func FuzzDecodeChunk(f *testing.F) {
	full := make([][]byte, chunkEntries)
	for i := range full {
		full[i] = encodeRecord(nil, entry(i))
	}
	f.Add(encodeChunk(full))
	f.Add([]byte{})
	f.Add([]byte{0x80, 0x00})
	f.Fuzz(func(t *testing.T, v []byte) {
		recs, err := decodeChunk(v)
		if err != nil {
			return
		}
		if len(recs) != chunkEntries {
			t.Fatalf("%d records", len(recs))
		}
		if again := encodeChunk(recs); !bytes.Equal(again, v) {
			t.Fatalf("re-encoded %x, want %x", again, v)
		}
	})
}
