package storage

import (
	"bytes"
	"context"
	"fmt"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/nutsdb/nutsdb"
)

// Import verifies and stores a range of a replica: entries [start, start+len(entries)) of log
// head.Key, which must end exactly at head.Length (else ErrBadRange). Contract:
//
//   - head's signature must verify under head.Key (else *VerifyError) and head.Fork must be 0;
//   - head.Key must not be the store's own key (ErrOwnLog);
//   - start <= Len (else ErrGap): ranges extend the stored prefix, they may overlap it, and every
//     overlapping entry must equal the stored copy byte for byte (else *VerifyError);
//   - the RFC 6962 root over the stored prefix [0, start) plus entries must equal head.Root
//     (else *VerifyError);
//   - when head.Length <= Len, head.Root must equal RootAt(head.Length): otherwise the signer has
//     signed two inconsistent heads, both are kept as proof, the log is flagged and every later
//     import of it fails with the *EquivocationError.
//
// At most MaxRange entries of at most MaxEntrySize bytes each. On success the new entries and the
// head are stored atomically in the replica database, without fsync (a tail lost in a power
// failure is fetched again; see the package doc), and added is the number of new entries.
// Nothing is stored on any failure. Imports of different logs run concurrently; imports of one
// log are serialised.
func (s *Store) Import(ctx context.Context, head wire.SignedHead, start uint64, entries [][]byte) (added int, err error) {
	k := head.Key
	if k == s.key {
		return 0, ErrOwnLog
	}
	if err := s.checkRange(ctx, head, start, entries); err != nil {
		return 0, err
	}
	s.importLock(k).Lock()
	defer s.importLock(k).Unlock()
	if e := s.flagged(k); e != nil {
		return 0, e
	}
	st := s.state(k)
	if st == nil {
		st = newLogState(k)
	}
	return s.extend(s.rep, st, head, start, entries, func(index uint64) error {
		return &VerifyError{Key: k, Reason: fmt.Sprintf("entry %d differs from the verified copy", index)}
	}, func() error { return s.equivocate(k, st.head, head) })
}

// checkRange makes the checks that need no stored state on a range offered for log head.Key:
// the context, at most MaxRange entries of at most MaxEntrySize bytes, the head's signature, a
// range that ends at the head's length, and an open store.
func (s *Store) checkRange(ctx context.Context, head wire.SignedHead, start uint64, entries [][]byte) error {
	if err := contextErr(ctx); err != nil {
		return err
	}
	if len(entries) > MaxRange {
		return fmt.Errorf("%w: %d entries (at most %d)", ErrBadRange, len(entries), MaxRange)
	}
	for i, e := range entries {
		if len(e) > MaxEntrySize {
			return fmt.Errorf("%w: entry %d is %d bytes (at most %d)", ErrTooLarge, start+uint64(i), len(e), MaxEntrySize)
		}
	}
	if err := s.checkHead(head); err != nil {
		return err
	}
	if end := start + uint64(len(entries)); end < start || end != head.Length {
		return fmt.Errorf("%w: range [%d, %d) does not end at the head length %d", ErrBadRange, start, end, head.Length)
	}
	if s.isClosed() {
		return ErrClosed
	}
	return nil
}

// extend adds to log st.key, held in db, the entries of [start, head.Length) it lacks, after
// checking that the whole range agrees with what is stored (an entry that differs: differ(index))
// and that the Merkle root over the stored prefix and the fresh entries is head.Root (a head at
// or below the stored length with another root: fork()). The fresh entries, their tree nodes and
// the head go in one transaction of db. The caller holds the log's import lock, has checked the
// head's signature and that the range ends at head.Length.
func (s *Store) extend(db *kvdb, st *logState, head wire.SignedHead, start uint64, entries [][]byte,
	differ func(index uint64) error, fork func() error) (added int, err error) {
	k, n, end := st.key, st.head.Length, head.Length
	if start > n {
		return 0, fmt.Errorf("%w: log %s range starts at %d, %d entries held", ErrGap, k.Short(), start, n)
	}
	if start < n {
		stored, err := s.Log(k).Range(start, min(n, end))
		if err != nil {
			return 0, err
		}
		for i, e := range stored {
			if !bytes.Equal(e, entries[i]) {
				return 0, differ(start + uint64(i))
			}
		}
	}
	if end <= n {
		root, err := s.Log(k).RootAt(end)
		if err != nil {
			return 0, err
		}
		if root != head.Root {
			return 0, fork()
		}
		return 0, nil
	}
	rng := cloneRange(st.rng)
	fresh := entries[n-start:]
	nodes, err := appendLeaves(rng, fresh)
	if err != nil {
		return 0, err
	}
	if rootOf(rng) != head.Root {
		return 0, &VerifyError{Key: k, Reason: fmt.Sprintf("root over %d entries does not match the signed head", end)}
	}
	if err := db.update(func(tx *nutsdb.Tx) error { return putExtension(tx, head, n, nodes, fresh) }); err != nil {
		return 0, fmt.Errorf("storage: store %d entries of %s: %w", len(fresh), k.Short(), err)
	}
	s.mu.Lock()
	s.logs[k] = &logState{key: k, head: head, rng: rng}
	s.gen++
	s.mu.Unlock()
	return len(fresh), nil
}

// putExtension writes entries [prev, head.Length) of log head.Key with their tree nodes, the head
// in the head history (thinned behind its window) and as the log's current head.
func putExtension(tx *nutsdb.Tx, head wire.SignedHead, prev uint64, nodes [][][]byte, entries [][]byte) error {
	k := head.Key
	recs := make([][]byte, len(entries))
	for j, e := range entries {
		recs[j] = encodeRecord(nodes[j], e)
	}
	if err := putRecords(tx, k, prev, recs); err != nil {
		return err
	}
	if err := tx.Put(bHeads, entryKey(k, head.Length), head.Marshal(), nutsdb.Persistent); err != nil {
		return err
	}
	if err := thinHeads(tx, k, prev, head.Length); err != nil {
		return err
	}
	return tx.Put(bHead, k[:], headRecord(head, prev), nutsdb.Persistent)
}

// ObserveHead verifies a head received from gossip against what is stored. need reports that the
// head is longer than the stored log (entries to fetch). When head.Length <= Len and head.Root
// differs from RootAt(head.Length), the log equivocates: both heads are kept in the replica
// database (not fsynced: a proof lost in a power failure is found again when the heads meet
// again), the log is flagged and ObserveHead returns the *EquivocationError (errors.Is ErrEquivocation). A bad
// signature is a *VerifyError. Heads of the own log are checked the same way, except that the
// own log is never flagged: need then means this store lost entries it once signed.
func (s *Store) ObserveHead(head wire.SignedHead) (need bool, err error) {
	if err := s.checkHead(head); err != nil {
		return false, err
	}
	k := head.Key
	if s.isClosed() {
		return false, ErrClosed
	}
	s.importLock(k).Lock()
	defer s.importLock(k).Unlock()
	if e := s.flagged(k); e != nil {
		return false, e
	}
	l := s.Log(k)
	cur := l.Head()
	if head.Length > cur.Length {
		return true, nil
	}
	root, err := l.RootAt(head.Length)
	if err != nil {
		return false, err
	}
	if root == head.Root {
		return false, nil
	}
	if k == s.key {
		return false, &EquivocationError{Key: k, A: cur, B: head}
	}
	return false, s.equivocate(k, cur, head)
}

// maxVerifiedHeads bounds the signed heads remembered as verified (see Store.checkHead).
const maxVerifiedHeads = 4096

// checkHead is checkHead with a memory of heads whose signature verified: the same signed head
// often arrives several times (in a bid receipt and then in the push of its batch, in a heads
// exchange and then with the fetched range), and an identical head needs no second check.
func (s *Store) checkHead(h wire.SignedHead) error {
	s.vmu.Lock()
	_, ok := s.verified[h]
	s.vmu.Unlock()
	if ok {
		return nil
	}
	if err := checkHead(h); err != nil {
		return err
	}
	s.vmu.Lock()
	if len(s.verified) >= maxVerifiedHeads {
		clear(s.verified)
	}
	s.verified[h] = struct{}{}
	s.vmu.Unlock()
	return nil
}

// checkHead verifies a head's signature and fork, and that a zero-length head has the empty root.
func checkHead(h wire.SignedHead) error {
	if err := h.Verify(); err != nil {
		return &VerifyError{Key: h.Key, Reason: "head signature does not verify"}
	}
	if h.Length == 0 && h.Root != emptyRoot() {
		return &VerifyError{Key: h.Key, Reason: "zero-length head with a non-empty root"}
	}
	if h.Fork != 0 {
		return &VerifyError{Key: h.Key, Reason: fmt.Sprintf("fork %d is not supported (only 0)", h.Fork)}
	}
	return nil
}

func (s *Store) flagged(k wire.PeerKey) *EquivocationError {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.equivs[k]
}

// equivocate stores a and b as proof that log k equivocates, flags it and returns the error.
// s.importLock(k) must be held.
func (s *Store) equivocate(k wire.PeerKey, a, b wire.SignedHead) error {
	e := &EquivocationError{Key: k, A: a, B: b}
	proof := append(a.Marshal(), b.Marshal()...)
	if err := s.rep.update(func(tx *nutsdb.Tx) error {
		return tx.Put(bEquiv, k[:], proof, nutsdb.Persistent)
	}); err != nil {
		return fmt.Errorf("storage: store equivocation proof of %s: %w (%w)", k.Short(), err, e)
	}
	s.mu.Lock()
	s.equivs[k] = e
	s.mu.Unlock()
	s.log.Warn("storage: log equivocates; kept both heads as proof", "log", k.Short(),
		"lengthA", a.Length, "lengthB", b.Length)
	return e
}
