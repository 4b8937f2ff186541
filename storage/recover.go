package storage

import (
	"context"

	"github.com/auction-tui/auction-tui/wire"
)

// RecoverOwn restores entries of the own log that this store lost but had signed, from a copy a
// peer holds: head must be signed by this store's key, start at most Len, and the entries must
// extend the stored log so that the Merkle root over the stored prefix and the fresh entries is
// head.Root (entries that overlap the stored log must equal it). The fresh entries and the head
// are committed durably (fsync), as an append would. It returns the number of entries added.
//
// A head at or below Len whose root differs from the stored log's proves that this store signed
// two different logs (it re-signed entries after losing some): RecoverOwn then returns the
// *EquivocationError and changes nothing. Other failures are a *VerifyError, ErrBadRange, ErrGap
// or ErrTooLarge, and change nothing. At most MaxRange entries per call.
func (s *Store) RecoverOwn(ctx context.Context, head wire.SignedHead, start uint64, entries [][]byte) (added int, err error) {
	if head.Key != s.key {
		return 0, &VerifyError{Key: head.Key, Reason: "not a head of the own log"}
	}
	if err := s.checkRange(ctx, head, start, entries); err != nil {
		return 0, err
	}
	// The committer takes the same lock: no append interleaves with a recovery.
	s.importLock(s.key).Lock()
	defer s.importLock(s.key).Unlock()
	st := s.state(s.key)
	forked := func() error { return &EquivocationError{Key: s.key, A: st.head, B: head} }
	added, err = s.extend(s.own, st, head, start, entries, func(uint64) error { return forked() }, forked)
	if added > 0 {
		s.log.Info("storage: recovered own entries from a peer's copy", "from", st.head.Length, "to", head.Length)
	}
	return added, err
}

// LostOwnEntries reports whether Open found that the own log had lost entries it had signed (a
// log repair of the own log; see Repair): peers may hold them, and RecoverOwn can restore them
// before anything new is appended at their indexes.
func (s *Store) LostOwnEntries() bool {
	for _, r := range s.repairs {
		if r.Log == s.key && r.LostEntries > 0 {
			return true
		}
	}
	return false
}
