package peer

import (
	"context"
	"sort"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// The push path. Every batch the sequencer commits is kept in a window of recent batches, and
// one pusher per connected peer sends that peer what it has not been sent yet, as one Range, and
// waits for the peer's answer before the next push. This gives three properties at once:
//
//   - order: a peer receives this log's entries in order, so pushes never arrive ahead of a gap
//     and start fetches;
//   - coalescing: batches committed while a push is in flight go together in the next one, under
//     one signed head, so a receiver checks one head signature and one larger batch of bid
//     signatures instead of many small ones, and the number of messages falls as load rises;
//   - bounded work: at most one push per peer is in flight, and memory is the window, whatever
//     the load, instead of one goroutine per batch per peer.
//
// Each entry is still sent at most once to each peer. A peer that connects (or reconnects) is
// brought up to date by the heads exchange that starts on connect; its pusher starts from the
// log's length at that moment. A push that fails is not retried: the next anti-entropy exchange
// finds what is missing.

const (
	// pushTimeout bounds one push to one peer, answer included.
	pushTimeout = 5 * time.Second
	// pushWindow bounds the entries of recent own batches kept in memory for pushing. A peer that
	// falls further behind gets a range that starts after its end and fetches the gap.
	pushWindow = 8192
	// pushWindowAge bounds how long a batch stays in the window: two push timeouts, so a push
	// that failed can still be sent again. Older batches every connected peer has had time to
	// get; one that still lacks them fetches them. Without it a quiet market would keep its last
	// pushWindow entries in memory for good.
	pushWindowAge = 2 * pushTimeout
	// pushRetryMin and pushRetryMax bound the pause before a failed push is sent again (doubling
	// from the first to the second while it keeps failing).
	pushRetryMin = 100 * time.Millisecond
	pushRetryMax = 2 * time.Second
	// maxPushBytes bounds the encoded size of one push (under the endpoints' default payload
	// limit of 1 MiB).
	maxPushBytes = 768 << 10
)

// ownBatch is one committed batch of this node's log.
type ownBatch struct {
	head    wire.SignedHead
	first   uint64
	entries [][]byte
	size    int       // encoded size of the entries, in bytes
	at      time.Time // when it was committed
}

// pusher is the push state of one connected peer.
type pusher struct {
	sent uint64 // length of this log the peer has been sent (guarded by Node.pushMu)
	wake chan struct{}
	stop chan struct{}
}

// push records a batch of this node's log, just committed, and wakes every pusher. r must
// follow the previously pushed batch.
func (n *Node) push(r wire.Range) {
	b := ownBatch{head: r.Head, first: r.Start, entries: r.Entries, at: time.Now()}
	for _, e := range r.Entries {
		b.size += wire.RangeEntryOverhead + len(e)
	}
	n.pushMu.Lock()
	n.recent = append(n.recent, b)
	n.recentEntries += len(b.entries)
	for len(n.recent) > 1 && (n.recentEntries > pushWindow || b.at.Sub(n.recent[0].at) > pushWindowAge) {
		n.recentEntries -= len(n.recent[0].entries)
		n.recent[0] = ownBatch{}
		n.recent = n.recent[1:]
	}
	for _, p := range n.pushers {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	n.pushMu.Unlock()
}

// startPusher starts the pusher of peer k unless it runs already.
func (n *Node) startPusher(k wire.PeerKey) {
	n.pushMu.Lock()
	defer n.pushMu.Unlock()
	if n.pushers[k] != nil || n.ctx.Err() != nil {
		return
	}
	p := &pusher{sent: n.store.Own().Len(), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	n.pushers[k] = p
	n.wg.Add(1)
	go n.runPusher(k, p)
}

// stopPusher stops the pusher of peer k, if any.
func (n *Node) stopPusher(k wire.PeerKey) {
	n.pushMu.Lock()
	defer n.pushMu.Unlock()
	if p := n.pushers[k]; p != nil {
		close(p.stop)
		delete(n.pushers, k)
	}
}

func (n *Node) runPusher(k wire.PeerKey, p *pusher) {
	defer n.wg.Done()
	for {
		select {
		case <-p.wake:
		case <-p.stop:
			return
		case <-n.ctx.Done():
			return
		}
		backoff := pushRetryMin
		for {
			r, ok := n.nextPush(p)
			if !ok {
				break
			}
			ctx, cancel := context.WithTimeout(n.ctx, pushTimeout)
			_, err := n.ep.Request(ctx, k, methodPush, r.Marshal())
			cancel()
			n.pushesSent.Add(1)
			if err == nil {
				backoff = pushRetryMin
				continue
			}
			// Not delivered (a connection closed as a duplicate, a timeout): send it again
			// after a pause, while the peer stays connected; a disconnect stops this pusher.
			n.log.Debug("push", "peer", k.Short(), "start", r.Start, "entries", len(r.Entries), "err", err, "retry", backoff)
			n.unsend(p, r)
			select {
			case <-time.After(jitter(backoff)):
			case <-p.stop:
				return
			case <-n.ctx.Done():
				return
			}
			backoff = min(2*backoff, pushRetryMax)
		}
	}
}

// unsend marks r as not sent to p, unless more was sent since.
func (n *Node) unsend(p *pusher, r wire.Range) {
	n.pushMu.Lock()
	if p.sent == r.Head.Length {
		p.sent = r.Start
	}
	n.pushMu.Unlock()
}

// nextPush returns the next range to send to p, coalescing consecutive batches under the last
// one's head, and marks it sent.
func (n *Node) nextPush(p *pusher) (wire.Range, bool) {
	n.pushMu.Lock()
	defer n.pushMu.Unlock()
	i := sort.Search(len(n.recent), func(i int) bool { return n.recent[i].head.Length > p.sent })
	if i == len(n.recent) {
		return wire.Range{}, false
	}
	b := n.recent[i]
	skip := 0
	if p.sent > b.first { // the peer was sent part of this batch (it connected mid-way)
		skip = int(p.sent - b.first)
	}
	r := wire.Range{Head: b.head, Start: b.first + uint64(skip)}
	r.Entries = append(make([][]byte, 0, len(b.entries)-skip), b.entries[skip:]...)
	size := b.size
	for _, nb := range n.recent[i+1:] {
		if len(r.Entries)+len(nb.entries) > wire.MaxRangeEntries || size+nb.size > maxPushBytes {
			break
		}
		r.Entries = append(r.Entries, nb.entries...)
		r.Head = nb.head
		size += nb.size
	}
	p.sent = r.Head.Length
	return r, true
}
