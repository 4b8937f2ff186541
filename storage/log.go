package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/nutsdb/nutsdb"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

var (
	hasher = rfc6962.DefaultHasher
	rf     = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// logState is the in-memory state of one log: its latest signed head and the compact range of
// its whole tree (at most 64 hashes), kept so that appends and imports hash only new entries.
type logState struct {
	key  wire.PeerKey
	head wire.SignedHead // head.Length is the number of entries stored
	rng  *compact.Range  // [0, head.Length)
}

func newLogState(k wire.PeerKey) *logState {
	return &logState{key: k, head: wire.SignedHead{Head: wire.Head{Key: k, Root: emptyRoot()}}, rng: rf.NewEmptyRange(0)}
}

func emptyRoot() wire.Hash {
	var h wire.Hash
	copy(h[:], hasher.EmptyRoot())
	return h
}

// cloneRange returns a deep copy of r.
func cloneRange(r *compact.Range) *compact.Range {
	hs := make([][]byte, len(r.Hashes()))
	for i, h := range r.Hashes() {
		hs[i] = bytes.Clone(h)
	}
	c, _ := rf.NewRange(r.Begin(), r.End(), hs)
	return c
}

func rootOf(r *compact.Range) wire.Hash {
	if r.End() == 0 {
		return emptyRoot()
	}
	h, _ := r.GetRootHash(nil)
	var out wire.Hash
	copy(out[:], h)
	return out
}

// entryKey returns log key || index big-endian.
func entryKey(k wire.PeerKey, i uint64) []byte {
	b := make([]byte, 0, wire.KeySize+8)
	b = append(b, k[:]...)
	return binary.BigEndian.AppendUint64(b, i)
}

// encodeRecord returns the stored value of one entry: the count of completed nodes, the nodes
// (levels 1..n), the entry bytes.
func encodeRecord(nodes [][]byte, entry []byte) []byte {
	b := make([]byte, 0, 1+len(nodes)*wire.HashSize+len(entry))
	b = append(b, byte(len(nodes)))
	for _, n := range nodes {
		b = append(b, n...)
	}
	return append(b, entry...)
}

// decodeRecord splits a stored value of entry i into its nodes and entry bytes.
func decodeRecord(i uint64, v []byte) (nodes []byte, entry []byte, err error) {
	if len(v) < 1 {
		return nil, nil, errors.New("empty record")
	}
	n := int(v[0])
	if want := bits.TrailingZeros64(^i); n != want {
		return nil, nil, fmt.Errorf("record %d holds %d nodes, want %d", i, n, want)
	}
	if len(v) < 1+n*wire.HashSize {
		return nil, nil, fmt.Errorf("record %d is truncated", i)
	}
	e := v[1+n*wire.HashSize:]
	if len(e) > MaxEntrySize {
		return nil, nil, fmt.Errorf("record %d entry is %d bytes", i, len(e))
	}
	return v[1 : 1+n*wire.HashSize], e, nil
}

// appendLeaves appends entries to r (in place) and returns, per entry, the nodes at levels >= 1
// completed by it.
func appendLeaves(r *compact.Range, entries [][]byte) ([][][]byte, error) {
	out := make([][][]byte, len(entries))
	var cur int
	visit := func(id compact.NodeID, h []byte) {
		if id.Level > 0 {
			out[cur] = append(out[cur], h)
		}
	}
	for i, e := range entries {
		cur = i
		if err := r.Append(hasher.HashLeaf(e), visit); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Head history. Every commit of the own log and every import of a replica stores the signed
// head it ends at (bucket bHeads), so that HeadFor can serve a range ending at a head the
// fetcher knows. Stored for every head forever, that is one nutsdb key (about 190 bytes of
// index in RAM) per commit or import: per entry when entries arrive one at a time, as they do
// live. Heads are therefore thinned in spans (b*headSpacing, (b+1)*headSpacing]: once a span
// lies wholly more than headWindow entries behind the log's length, only its greatest head is
// kept (so the last headWindow to headWindow+headSpacing entries keep every head). Consecutive kept heads are then at most 2*headSpacing apart (or one commit or import
// apart, at most MaxRange), so HeadFor still finds a head for every start below the length,
// serving at least MaxRange-2*headSpacing entries from the thinned part of a log.
const (
	// headWindow is how many entries behind a log's length heads are all kept. A fetcher
	// asks for a range ending at the newest head it knows, which is nearly always recent.
	headWindow = 256
	// headSpacing is the span, in entries, of which one head is kept behind headWindow.
	headSpacing = 128
)

// thinnedSpans returns how many spans of headSpacing entries lie wholly more than headWindow
// entries behind length n.
func thinnedSpans(n uint64) uint64 {
	if n < headWindow {
		return 0
	}
	return (n - headWindow) / headSpacing
}

// thinHeads deletes, in tx, the stored heads of log k in the spans that fell behind the head
// window as the log grew from prev to cur entries, keeping the greatest head of each span.
func thinHeads(tx *nutsdb.Tx, k wire.PeerKey, prev, cur uint64) error {
	for b := thinnedSpans(prev); b < thinnedSpans(cur); b++ {
		keys, _, err := tx.RangeScanEntries(bHeads, entryKey(k, b*headSpacing+1), entryKey(k, (b+1)*headSpacing), true, false)
		if err != nil {
			if isEmptyErr(err) {
				continue
			}
			return fmt.Errorf("scan heads of span %d: %w", b, err)
		}
		for _, key := range keys[:max(len(keys)-1, 0)] {
			if err := tx.Delete(bHeads, key); err != nil {
				return fmt.Errorf("thin heads of span %d: %w", b, err)
			}
		}
	}
	return nil
}

// Log is a view of one log: the own log (writable through Append) or a replica. Views are cheap
// and always reflect the current stored state. Methods are safe for concurrent use.
type Log struct {
	s   *Store
	key wire.PeerKey
}

// Key returns the writer's key of the log.
func (l *Log) Key() wire.PeerKey { return l.key }

// Len returns the number of entries stored, which is the length of Head.
func (l *Log) Len() uint64 {
	if st := l.s.state(l.key); st != nil {
		return st.head.Length
	}
	return 0
}

// Head returns the latest signed head stored. For an empty log it is the zero-length head with
// the empty root and no signature.
func (l *Log) Head() wire.SignedHead {
	if st := l.s.state(l.key); st != nil {
		return st.head
	}
	return newLogState(l.key).head
}

// Get returns entry i. It fails with ErrNotFound when i >= Len.
func (l *Log) Get(i uint64) ([]byte, error) {
	es, err := l.Range(i, i+1)
	if err != nil {
		if errors.Is(err, ErrBadRange) {
			return nil, fmt.Errorf("%w: index %d of log %s", ErrNotFound, i, l.key.Short())
		}
		return nil, err
	}
	return es[0], nil
}

// Range returns the entries [start, end). It fails with ErrBadRange when start > end, when
// end-start > MaxRange or when end > Len.
func (l *Log) Range(start, end uint64) ([][]byte, error) {
	if start > end || end-start > MaxRange {
		return nil, fmt.Errorf("%w: [%d, %d) (at most %d entries)", ErrBadRange, start, end, MaxRange)
	}
	if n := l.Len(); end > n {
		return nil, fmt.Errorf("%w: [%d, %d) beyond length %d", ErrBadRange, start, end, n)
	}
	out := make([][]byte, 0, end-start)
	err := l.s.dbFor(l.key).db.View(func(tx *nutsdb.Tx) error {
		rd := newRecordReader(tx, l.key)
		for i := start; i < end; i++ {
			_, e, err := rd.entry(i)
			if err != nil {
				var ve *VerifyError
				if errors.As(err, &ve) {
					return err
				}
				return fmt.Errorf("storage: read entry %d of log %s: %w", i, l.key.Short(), err)
			}
			out = append(out, bytes.Clone(e))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// maxRootMemo bounds the prefix roots a Store remembers (see Log.RootAt): about 100 KiB.
const maxRootMemo = 1024

// rootKey names the prefix of n entries of a log.
type rootKey struct {
	key wire.PeerKey
	n   uint64
}

// RootAt returns the Merkle root (RFC 6962) over the first n entries, for n <= Len. It costs
// O(log n) reads the first time and nothing after: a log's stored entries never change while
// the store is open (a torn tail is repaired in Open), so the roots of its prefixes are
// remembered (at most maxRootMemo, all forgotten when full). Heads exchanges ask for the same
// few prefixes again and again: those that the peers of a market hold. It fails with
// ErrBadRange when n > Len.
func (l *Log) RootAt(n uint64) (wire.Hash, error) {
	st := l.s.state(l.key)
	var length uint64
	if st != nil {
		length = st.head.Length
	}
	if n > length {
		return wire.Hash{}, fmt.Errorf("%w: root at %d beyond length %d", ErrBadRange, n, length)
	}
	if n == length {
		if st == nil {
			return emptyRoot(), nil
		}
		return st.head.Root, nil
	}
	rk := rootKey{l.key, n}
	l.s.vmu.Lock()
	root, ok := l.s.roots[rk]
	l.s.vmu.Unlock()
	if ok {
		return root, nil
	}
	var r *compact.Range
	err := l.s.dbFor(l.key).db.View(func(tx *nutsdb.Tx) error {
		var err error
		r, err = compactAt(tx, l.key, n)
		return err
	})
	if err != nil {
		return wire.Hash{}, err
	}
	root = rootOf(r)
	l.s.vmu.Lock()
	if len(l.s.roots) >= maxRootMemo {
		clear(l.s.roots)
	}
	l.s.roots[rk] = root
	l.s.vmu.Unlock()
	return root, nil
}

// HeadFor returns the stored signed head with the greatest length in (start, min(end,
// start+MaxRange)]: Range(start, head.Length) together with that head is a range Import
// accepts. ok is false when no such head is stored. Every head within 256 entries of the
// log's length is stored; further back only about one per 128 entries is kept, which still
// leaves a head in (start, start+MaxRange] for every start below the length (so end =
// start+MaxRange always finds one, and serves at least MaxRange-256 entries or to the end).
func (l *Log) HeadFor(start, end uint64) (head wire.SignedHead, ok bool) {
	end = min(end, start+MaxRange, l.Len())
	if end <= start {
		return head, false
	}
	if st := l.s.state(l.key); st != nil && st.head.Length == end {
		return st.head, true
	}
	_ = l.s.dbFor(l.key).db.View(func(tx *nutsdb.Tx) error {
		_, vals, err := tx.RangeScanEntries(bHeads, entryKey(l.key, start+1), entryKey(l.key, end), false, true)
		if err != nil || len(vals) == 0 {
			return nil
		}
		h, err := wire.UnmarshalSignedHead(vals[len(vals)-1])
		if err == nil && h.Key == l.key && h.Length > start && h.Length <= end {
			head, ok = h, true
		}
		return nil
	})
	return head, ok
}

// Append appends entries to the own log and returns the index of the first one and the signed
// head of the commit that made them durable. It returns only once the entries are fsynced;
// concurrent callers are group-committed (one transaction, one fsync, one signed head). It fails
// with ErrReadOnly on a replica, ErrTooLarge for more than MaxAppendEntries entries or an entry
// over MaxEntrySize, and ErrClosed after Close. If ctx ends while the commit is in flight, the
// entries may still be committed: compare Len.
func (l *Log) Append(ctx context.Context, entries ...[]byte) (first uint64, head wire.SignedHead, err error) {
	if l.key != l.s.key {
		return 0, head, ErrReadOnly
	}
	return l.s.append(ctx, entries)
}

// Verify recomputes the whole tree of the log from its stored entries and checks every stored
// node and the root against the signed head. It costs O(n) and fails with a *VerifyError on any
// mismatch.
func (l *Log) Verify(ctx context.Context) error {
	st := l.s.state(l.key)
	if st == nil || st.head.Length == 0 {
		return nil
	}
	h := st.head
	if h.Verify() != nil {
		return &VerifyError{Key: l.key, Reason: "head signature does not verify"}
	}
	r := rf.NewEmptyRange(0)
	for start := uint64(0); start < h.Length; start += MaxRange {
		if err := contextErr(ctx); err != nil {
			return err
		}
		end := min(start+MaxRange, h.Length)
		err := l.s.dbFor(l.key).db.View(func(tx *nutsdb.Tx) error {
			return checkEntries(tx, l.key, r, start, end)
		})
		if err != nil {
			return err
		}
	}
	if rootOf(r) != h.Root {
		return &VerifyError{Key: l.key, Reason: fmt.Sprintf("root over %d entries does not match the signed head", h.Length)}
	}
	return nil
}

// checkEntries appends entries [start, end) of log k, read from tx, to r and checks the nodes
// stored with each entry against the recomputed ones.
func checkEntries(tx *nutsdb.Tx, k wire.PeerKey, r *compact.Range, start, end uint64) error {
	rd := newRecordReader(tx, k)
	for i := start; i < end; i++ {
		nodes, e, err := rd.entry(i)
		if err != nil {
			if errors.Is(err, nutsdb.ErrKeyNotFound) {
				return &VerifyError{Key: k, Reason: fmt.Sprintf("entry %d is missing", i)}
			}
			return err
		}
		got, err := appendLeaves(r, [][]byte{e})
		if err != nil {
			return err
		}
		for j, n := range got[0] {
			if !bytes.Equal(n, nodes[j*wire.HashSize:(j+1)*wire.HashSize]) {
				return &VerifyError{Key: k, Reason: fmt.Sprintf("stored tree node %d of entry %d is wrong", j+1, i)}
			}
		}
	}
	return nil
}

// nodeAt reads the tree node at level, index of log k: the leaf hash of an entry for level 0, or
// the node stored with the entry that completed it.
func nodeAt(rd *recordReader, level uint, index uint64) ([]byte, error) {
	i := (index+1)<<level - 1
	nodes, e, err := rd.entry(i)
	if err != nil {
		if errors.Is(err, nutsdb.ErrKeyNotFound) {
			return nil, &VerifyError{Key: rd.k, Reason: fmt.Sprintf("entry %d is missing", i)}
		}
		return nil, err
	}
	if level == 0 {
		return hasher.HashLeaf(e), nil
	}
	return bytes.Clone(nodes[(level-1)*wire.HashSize : level*wire.HashSize]), nil
}

// compactAt builds the compact range [0, n) of log k from stored nodes: O(log n) reads.
func compactAt(tx *nutsdb.Tx, k wire.PeerKey, n uint64) (*compact.Range, error) {
	rd := newRecordReader(tx, k)
	var hs [][]byte
	for level := 63; level >= 0; level-- {
		if n&(1<<uint(level)) == 0 {
			continue
		}
		begin := n >> (uint(level) + 1) << (uint(level) + 1)
		h, err := nodeAt(rd, uint(level), begin>>uint(level))
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	return rf.NewRange(0, n, hs)
}

// verifyTail checks log k's last commit: the compact range at prev from stored nodes, extended by
// the entries [prev, h.Length), must give h.Root, and no entry may be stored at h.Length.
func (s *Store) verifyTail(k wire.PeerKey, h wire.SignedHead, prev uint64) (*logState, error) {
	var r *compact.Range
	err := s.dbFor(k).db.View(func(tx *nutsdb.Tx) error {
		var err error
		if r, err = compactAt(tx, k, prev); err != nil {
			return err
		}
		if err := checkEntries(tx, k, r, prev, h.Length); err != nil {
			return err
		}
		if _, err := newRecordReader(tx, k).record(h.Length); err == nil {
			return &VerifyError{Key: k, Reason: fmt.Sprintf("entry %d stored beyond the head", h.Length)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rootOf(r) != h.Root {
		return nil, &VerifyError{Key: k, Reason: fmt.Sprintf("root over %d entries does not match the signed head", h.Length)}
	}
	return &logState{key: k, head: h, rng: r}, nil
}

// rebuildLog handles a log whose last commit does not verify against its head (reason). It scans
// the contiguous entries from index 0 that hash to a consistent tree. The own log is re-signed at
// that length; a replica keeps the longest prefix that has a stored signed head matching it, and
// otherwise is emptied, to be fetched again. Entries beyond the kept length are deleted. The
// repair is recorded and logged. This path is O(n) and only runs after damage.
func (s *Store) rebuildLog(k wire.PeerKey, old wire.SignedHead, reason string) (*logState, error) {
	r := rf.NewEmptyRange(0)
	var n uint64
	var roots = map[uint64]wire.Hash{}
	err := s.dbFor(k).db.View(func(tx *nutsdb.Tx) error {
		rd := newRecordReader(tx, k)
		for ; ; n++ {
			_, e, err := rd.entry(n)
			if err != nil {
				return nil
			}
			if _, err := appendLeaves(r, [][]byte{e}); err != nil {
				return err
			}
			if k != s.key {
				roots[n+1] = rootOf(r)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	keep := n
	var head wire.SignedHead
	var total uint64
	if k == s.key {
		head = wire.SignHead(s.priv, wire.Head{Key: k, Length: n, Root: rootOf(r)})
		total = max(old.Length, n)
	} else {
		keep = 0
		head = newLogState(k).head
		// Find the longest stored signed head that matches the intact prefix.
		_ = s.dbFor(k).db.View(func(tx *nutsdb.Tx) error {
			_, vals, err := tx.RangeScanEntries(bHeads, entryKey(k, 1), entryKey(k, n), false, true)
			if err != nil {
				return nil
			}
			for _, v := range vals {
				h, err := wire.UnmarshalSignedHead(v)
				if err == nil && h.Key == k && h.Verify() == nil && h.Length <= n && roots[h.Length] == h.Root && h.Length > keep {
					keep, head = h.Length, h
				}
			}
			return nil
		})
		total = max(old.Length, n)
	}
	err = s.dbFor(k).update(func(tx *nutsdb.Tx) error {
		if err := truncateRecords(tx, k, keep, max(n, old.Length)); err != nil {
			return err
		}
		if head.Length == 0 {
			if err := tx.Delete(bHead, k[:]); err != nil && !isEmptyErr(err) {
				return err
			}
			return nil
		}
		if err := tx.Put(bHeads, entryKey(k, head.Length), head.Marshal(), nutsdb.Persistent); err != nil {
			return err
		}
		return tx.Put(bHead, k[:], headRecord(head, head.Length), nutsdb.Persistent)
	})
	if err != nil {
		return nil, fmt.Errorf("storage: repair log %s: %w", k.Short(), err)
	}
	rep := Repair{Log: k, Length: head.Length, LostEntries: total - head.Length, Reason: reason}
	s.repairs = append(s.repairs, rep)
	s.log.Warn("storage: log did not verify against its head; rebuilt from intact entries",
		"log", k.Short(), "reason", reason, "length", head.Length, "lost", rep.LostEntries, "own", k == s.key)
	var st *logState
	err = s.dbFor(k).db.View(func(tx *nutsdb.Tx) error {
		rr, err := compactAt(tx, k, head.Length)
		st = &logState{key: k, head: head, rng: rr}
		return err
	})
	return st, err
}

// headRecord encodes the "h" bucket value: the head and the length of the previous head.
func headRecord(h wire.SignedHead, prev uint64) []byte {
	return binary.BigEndian.AppendUint64(h.Marshal(), prev)
}
