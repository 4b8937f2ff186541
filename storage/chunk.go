package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/nutsdb/nutsdb"
)

// Sealed chunks. nutsdb keeps every key of a database in RAM (about 190 bytes each, whatever
// the value's size), so one key per entry made a store's memory grow with every entry it held.
// Entries are therefore stored one key each only at the tail of a log: once a log's length
// crosses a multiple of chunkEntries, the transaction that makes it cross packs the completed
// chunk's records into one key of bucket bChunks and deletes their single keys. The RAM a log
// costs is then about 3 bytes per entry plus at most chunkEntries-1 tail keys.
//
// The invariant, true after every committed transaction of a log of length n: the records of
// entries [0, n/chunkEntries*chunkEntries) are in sealed chunks and those of the rest in bucket
// bEntries. Readers do not rely on it: they look for the chunk first and fall back to the single
// key, so a reader that learned a length before a concurrent commit sealed its chunk still finds
// every record, and a folder written before chunks existed (single keys only) reads the same.
const (
	// chunkEntries is the number of records one sealed chunk holds.
	chunkEntries = 64
	// maxRecordSize is the largest stored record: the node count, up to 64 nodes and the entry.
	maxRecordSize = 1 + 64*wire.HashSize + MaxEntrySize
)

// bChunks is the bucket of sealed chunks: key = log key || chunk number (8 B big-endian), value =
// chunkEntries records, each preceded by its length as a uvarint.
const bChunks = "c"

// encodeChunk returns the stored value of a chunk of records.
func encodeChunk(recs [][]byte) []byte {
	size := 0
	for _, r := range recs {
		size += binary.MaxVarintLen16 + len(r)
	}
	b := make([]byte, 0, size)
	for _, r := range recs {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	return b
}

// decodeChunk splits the stored value of a chunk into exactly chunkEntries records, which alias v.
func decodeChunk(v []byte) ([][]byte, error) {
	recs := make([][]byte, 0, chunkEntries)
	for len(v) > 0 {
		n, w := binary.Uvarint(v)
		if w <= 0 || w != uvarintLen(n) || n > maxRecordSize || n > uint64(len(v)-w) {
			return nil, fmt.Errorf("chunk record %d is malformed", len(recs))
		}
		if len(recs) == chunkEntries {
			return nil, errors.New("chunk holds more than its records")
		}
		recs = append(recs, v[w:w+int(n)])
		v = v[w+int(n):]
	}
	if len(recs) != chunkEntries {
		return nil, fmt.Errorf("chunk holds %d records, want %d", len(recs), chunkEntries)
	}
	return recs, nil
}

// uvarintLen returns the length of the shortest uvarint encoding of n, the only one decodeChunk
// accepts.
func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

// recordReader reads the stored records of one log inside one transaction, from its sealed chunk
// or its single key. It keeps the last chunk it decoded, so reading a run of entries costs one
// read per chunk.
type recordReader struct {
	tx   *nutsdb.Tx
	k    wire.PeerKey
	c    uint64   // the chunk number recs holds
	recs [][]byte // the records of chunk c, or nil
}

func newRecordReader(tx *nutsdb.Tx, k wire.PeerKey) *recordReader {
	return &recordReader{tx: tx, k: k}
}

// chunk returns the records of sealed chunk c, or nil when c is not sealed.
func (r *recordReader) chunk(c uint64) ([][]byte, error) {
	if r.recs != nil && r.c == c {
		return r.recs, nil
	}
	v, err := r.tx.Get(bChunks, entryKey(r.k, c))
	if err != nil {
		if isEmptyErr(err) {
			return nil, nil
		}
		return nil, err
	}
	recs, err := decodeChunk(v)
	if err != nil {
		return nil, &VerifyError{Key: r.k, Reason: fmt.Sprintf("chunk %d: %v", c, err)}
	}
	r.c, r.recs = c, recs
	return recs, nil
}

// record returns the stored record of entry i. A missing entry is an error that matches
// nutsdb.ErrKeyNotFound.
func (r *recordReader) record(i uint64) ([]byte, error) {
	recs, err := r.chunk(i / chunkEntries)
	if err != nil {
		return nil, err
	}
	if recs != nil {
		return recs[i%chunkEntries], nil
	}
	v, err := r.tx.Get(bEntries, entryKey(r.k, i))
	if err != nil && isEmptyErr(err) {
		return nil, fmt.Errorf("entry %d: %w", i, nutsdb.ErrKeyNotFound)
	}
	return v, err
}

// entry returns entry i's bytes (aliasing the stored value) and the tree nodes stored with it.
func (r *recordReader) entry(i uint64) (nodes, e []byte, err error) {
	v, err := r.record(i)
	if err != nil {
		return nil, nil, err
	}
	nodes, e, err = decodeRecord(i, v)
	if err != nil {
		return nil, nil, &VerifyError{Key: r.k, Reason: err.Error()}
	}
	return nodes, e, nil
}

// putRecords writes recs, the records of entries [prev, prev+len(recs)) of log k, in tx: every
// chunk the new length completes is sealed (with the single-key records stored before prev,
// which are deleted), the rest go to single keys.
func putRecords(tx *nutsdb.Tx, k wire.PeerKey, prev uint64, recs [][]byte) error {
	end := prev + uint64(len(recs))
	for c := prev / chunkEntries; (c+1)*chunkEntries <= end; c++ {
		lo := c * chunkEntries
		chunk := make([][]byte, 0, chunkEntries)
		for i := lo; i < prev; i++ {
			v, err := tx.Get(bEntries, entryKey(k, i))
			if err != nil {
				return fmt.Errorf("seal chunk %d: read entry %d: %w", c, i, err)
			}
			if err := tx.Delete(bEntries, entryKey(k, i)); err != nil {
				return fmt.Errorf("seal chunk %d: delete entry %d: %w", c, i, err)
			}
			chunk = append(chunk, v)
		}
		chunk = append(chunk, recs[max(lo, prev)-prev:lo+chunkEntries-prev]...)
		if err := tx.Put(bChunks, entryKey(k, c), encodeChunk(chunk), nutsdb.Persistent); err != nil {
			return fmt.Errorf("seal chunk %d: %w", c, err)
		}
	}
	for i := max(prev, end/chunkEntries*chunkEntries); i < end; i++ {
		if err := tx.Put(bEntries, entryKey(k, i), recs[i-prev], nutsdb.Persistent); err != nil {
			return err
		}
	}
	return nil
}

// truncateRecords deletes, in tx, the records of entries [keep, n) of log k, and leaves the
// invariant true for length keep: a sealed chunk that holds entries below keep is unpacked into
// single keys.
func truncateRecords(tx *nutsdb.Tx, k wire.PeerKey, keep, n uint64) error {
	rd := newRecordReader(tx, k)
	for c := keep / chunkEntries; c*chunkEntries < n; c++ {
		if c*chunkEntries >= keep {
			// Nothing of it is kept: delete it unread (it may be what failed to decode).
			if err := tx.Delete(bChunks, entryKey(k, c)); err != nil && !isEmptyErr(err) {
				return err
			}
			continue
		}
		recs, err := rd.chunk(c)
		if err != nil {
			return err
		}
		if recs == nil {
			continue
		}
		for i := c * chunkEntries; i < keep; i++ {
			if err := tx.Put(bEntries, entryKey(k, i), recs[i-c*chunkEntries], nutsdb.Persistent); err != nil {
				return err
			}
		}
		if err := tx.Delete(bChunks, entryKey(k, c)); err != nil {
			return err
		}
	}
	for i := keep; i < n; i++ {
		if err := tx.Delete(bEntries, entryKey(k, i)); err != nil && !isEmptyErr(err) {
			return err
		}
	}
	return nil
}
