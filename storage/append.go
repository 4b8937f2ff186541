package storage

import (
	"context"
	"fmt"

	"github.com/auction-tui/auction-tui/wire"
	"github.com/nutsdb/nutsdb"
)

type appendReq struct {
	ctx     context.Context
	entries [][]byte
	done    chan appendResult // buffered, capacity 1
}

type appendResult struct {
	first uint64
	head  wire.SignedHead
	err   error
}

// append queues entries for the committer and waits for the durable result.
func (s *Store) append(ctx context.Context, entries [][]byte) (uint64, wire.SignedHead, error) {
	var zero wire.SignedHead
	if len(entries) == 0 {
		h := s.Own().Head()
		return h.Length, h, nil
	}
	if len(entries) > MaxAppendEntries {
		return 0, zero, fmt.Errorf("%w: %d entries in one append (at most %d)", ErrTooLarge, len(entries), MaxAppendEntries)
	}
	for i, e := range entries {
		if len(e) > MaxEntrySize {
			return 0, zero, fmt.Errorf("%w: entry %d is %d bytes (at most %d)", ErrTooLarge, i, len(e), MaxEntrySize)
		}
	}
	if err := contextErr(ctx); err != nil {
		return 0, zero, err
	}
	if s.isClosed() {
		return 0, zero, ErrClosed
	}
	req := &appendReq{ctx: ctx, entries: entries, done: make(chan appendResult, 1)}
	select {
	case s.reqs <- req:
	case <-s.stop:
		return 0, zero, ErrClosed
	case <-ctx.Done():
		return 0, zero, contextErr(ctx)
	}
	select {
	case r := <-req.done:
		return r.first, r.head, r.err
	case <-ctx.Done():
		return 0, zero, contextErr(ctx)
	case <-s.stop:
		// The committer finishes its current batch and fails queued requests before it exits;
		// a request queued after that is answered here.
		s.commitWG.Wait()
		select {
		case r := <-req.done:
			return r.first, r.head, r.err
		default:
			return 0, zero, ErrClosed
		}
	}
}

// committer is the single goroutine that writes the own log. It takes whatever appends are
// queued (up to MaxCommitEntries entries) and commits them in one transaction with one fsync.
func (s *Store) committer() {
	defer s.commitWG.Done()
	var carry *appendReq
	for {
		var first *appendReq
		if carry != nil {
			first, carry = carry, nil
		} else {
			select {
			case first = <-s.reqs:
			case <-s.stop:
				s.drain()
				return
			}
		}
		batch := []*appendReq{first}
		n := len(first.entries)
	gather:
		for n < MaxCommitEntries {
			select {
			case r := <-s.reqs:
				if n+len(r.entries) > MaxCommitEntries {
					carry = r
					break gather
				}
				batch = append(batch, r)
				n += len(r.entries)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

// drain fails every queued append after Close.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.reqs:
			r.done <- appendResult{err: ErrClosed}
		default:
			return
		}
	}
}

// commit writes one batch of appends: entries with their tree nodes, the new signed head, and
// the head history record, in one nutsdb transaction.
func (s *Store) commit(batch []*appendReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- appendResult{err: contextErr(r.ctx)}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// RecoverOwn takes the same lock: no recovery interleaves with a commit.
	s.importLock(s.key).Lock()
	defer s.importLock(s.key).Unlock()
	st := s.state(s.key)
	prev := st.head.Length
	rng := cloneRange(st.rng)
	var all [][]byte
	for _, r := range live {
		all = append(all, r.entries...)
	}
	nodes, err := appendLeaves(rng, all)
	var head wire.SignedHead
	if err == nil {
		head = wire.SignHead(s.priv, wire.Head{Key: s.key, Length: prev + uint64(len(all)), Root: rootOf(rng)})
		err = s.own.update(func(tx *nutsdb.Tx) error { return putExtension(tx, head, prev, nodes, all) })
	}
	if err != nil {
		err = fmt.Errorf("storage: commit %d entries: %w", len(all), err)
		for _, r := range live {
			r.done <- appendResult{err: err}
		}
		return
	}
	s.mu.Lock()
	s.logs[s.key] = &logState{key: s.key, head: head, rng: rng}
	s.gen++
	s.mu.Unlock()
	idx := prev
	for _, r := range live {
		r.done <- appendResult{first: idx, head: head}
		idx += uint64(len(r.entries))
	}
}
