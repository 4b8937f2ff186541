package peer

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/auction-tui/auction-tui/peer/rpc"
	"github.com/auction-tui/auction-tui/wire"
)

// Anti-entropy. Every anti-entropy period a node opens an exchange with each connected market
// peer (swarm.go). The exchange starts with a digest of the caller's heads (methodDigest, 36
// bytes). A peer that holds the very same heads answers with nothing, and the exchange is over:
// the usual case, in a market at rest and between pushes. A peer whose heads differ answers with
// all its heads; the caller fetches what it lacks and, if it holds a head the peer lacks, sends
// its own heads too (methodHeads, the full exchange), so that both sides learn in one exchange
// what the other holds, as with full exchanges alone.
//
// Why: a full exchange carries every signed head held (144 bytes per log) both ways, and
// in a market of N peers each period holds N·(N−1) exchanges. At 32 peers on two cores that was
// the largest cost of a market at rest, and a heal had to wait for CPU behind it. The digest is
// a hint, not a proof: a peer that sends a wrong one only gets the full heads back, and every
// head is still verified when it differs from the one held.

// markSynced records that a heads exchange with p, started by either side, has just ended.
func (n *Node) markSynced(p wire.PeerKey) {
	now := time.Now()
	n.mu.Lock()
	if ps := n.peers[p]; ps != nil {
		ps.synced = now
	}
	n.mu.Unlock()
}

// syncedWithin reports whether a heads exchange with p, started by either side, ended within d.
// The periodic exchange is skipped then (see keepConnected), so a pair of peers makes about one
// exchange per period instead of two. The peer that ran the last exchange runs the next within
// its own period, so a pair still exchanges at least once per (jittered) period; and a heal finds
// no recent exchange across the partition, so nothing is skipped after one.
func (n *Node) syncedWithin(p wire.PeerKey, d time.Duration) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	ps := n.peers[p]
	return ps != nil && !ps.synced.IsZero() && time.Since(ps.synced) < d
}

// headsView is this node's heads for one generation of the store's heads (see
// storage.Store.HeadsGen), with what the exchanges derive from them.
type headsView struct {
	gen    uint64
	heads  []wire.SignedHead // sorted by key
	digest wire.HeadsDigest
	enc    []byte // the Heads message; nil beyond wire.MaxHeads heads (see headsMsg)
}

// exchangeCounts counts heads exchanges by how they went.
type exchangeCounts struct {
	same   atomic.Uint64 // digest exchanges in which both sides held the same heads
	differ atomic.Uint64 // digest exchanges answered with the peer's heads
	full   atomic.Uint64 // full Heads messages sent (after a differing digest, or to an older peer)
	// retried counts digests sent again after an attempt went unanswered (see digestAttempt).
	retried atomic.Uint64
}

// heads returns this node's heads view, recomputed only when the store's heads changed.
func (n *Node) heads() *headsView {
	gen := n.store.HeadsGeneration()
	n.headsMu.Lock()
	v := n.headsView
	n.headsMu.Unlock()
	if v != nil && v.gen == gen {
		return v
	}
	hs, gen := n.store.HeadsGen()
	enc := slices.Clip(wire.Heads{Heads: hs}.Marshal()) // encoded once: for the digest and to send
	v = &headsView{gen: gen, heads: hs, digest: wire.DigestHeadsEncoding(enc)}
	if len(hs) <= wire.MaxHeads {
		v.enc = enc
	}
	n.headsMu.Lock()
	if n.headsView == nil || n.headsView.gen < gen {
		n.headsView = v
	}
	n.headsMu.Unlock()
	return v
}

// headsMsg returns the Heads message of v: every head, or beyond wire.MaxHeads a random subset of
// that many, a different one each time.
func headsMsg(v *headsView) []byte {
	if v.enc != nil {
		return v.enc
	}
	hs := slices.Clone(v.heads)
	rand.Shuffle(len(hs), func(i, j int) { hs[i], hs[j] = hs[j], hs[i] })
	return wire.Heads{Heads: hs[:wire.MaxHeads]}.Marshal()
}

// handleDigest answers a digest of the caller's heads: nothing when this node holds the same
// heads, else all of its heads.
func (n *Node) handleDigest(ctx context.Context, req *rpc.Request) ([]byte, error) {
	d, err := wire.UnmarshalHeadsDigest(req.Payload)
	if err != nil {
		return nil, rpc.Reject("malformed heads digest: " + err.Error())
	}
	v := n.heads()
	// Either way the caller learns this node's heads, and sends its own if this node lacks
	// something: the pair is in sync.
	n.markSynced(req.Caller)
	if d == v.digest {
		n.agreed(req.Caller, v.heads)
		return nil, nil
	}
	return headsMsg(v), nil
}

// handleHeads answers a full Heads message with this node's heads, and checks the caller's in the
// background.
func (n *Node) handleHeads(ctx context.Context, req *rpc.Request) ([]byte, error) {
	hs, err := wire.UnmarshalHeads(req.Payload)
	if err != nil {
		return nil, rpc.Reject("malformed heads: " + err.Error())
	}
	// One reconcile per caller at a time: a caller that sends heads faster than this node checks
	// them gets its later sets dropped (the next exchange carries them again).
	if n.tryBusy(req.Caller, busyReconcile) {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer n.doneBusy(req.Caller, busyReconcile)
			n.reconcile(n.ctx, req.Caller, hs.Heads)
		}()
	}
	n.markSynced(req.Caller)
	return headsMsg(n.heads()), nil
}

// exchangeHeads runs one exchange with p (see the top of this file): this node fetches what p
// holds that it lacks, and p learns what this node holds that p lacks.
func (n *Node) exchangeHeads(ctx context.Context, p wire.PeerKey) {
	v := n.heads()
	reply, err := n.digestRequest(ctx, p, v.digest.Marshal())
	if errors.Is(err, rpc.ErrUnknownMethod) {
		n.fullExchange(ctx, p) // a peer from before digests
		return
	}
	if err != nil {
		n.log.Debug("heads exchange", "peer", p.Short(), "err", err)
		return
	}
	if len(reply) == 0 {
		n.exch.same.Add(1)
		n.agreed(p, v.heads)
		n.markSynced(p)
		return
	}
	n.exch.differ.Add(1)
	theirs, err := wire.UnmarshalHeads(reply)
	if err != nil {
		n.log.Warn("malformed heads reply", "peer", p.Short(), "err", err)
		return
	}
	n.reconcile(ctx, p, theirs.Heads)
	if lacks(theirs.Heads, v.heads) && ctx.Err() == nil {
		n.fullExchange(ctx, p)
		return
	}
	n.markSynced(p)
}

// Digest attempts. A digest sent into a partition is answered only once QUIC retransmits it,
// on a probe timeout that has backed off while the partition dropped everything (hundreds of
// milliseconds to seconds), so after the partition heals the exchange would wait for that
// retransmission, or for its deadline. Instead a digest unanswered after one attempt is given up
// and sent again on a fresh stream, which goes out at once: after a heal the pair exchanges
// within one attempt. An attempt lasts digestAttemptRTTs round trips or a quarter of the
// anti-entropy period, whichever is longer (so a loaded peer that is only slow is not asked
// twice), at least minDigestAttempt and at most half the exchange deadline.
const (
	digestAttemptRTTs = 8
	minDigestAttempt  = 50 * time.Millisecond
)

// digestAttempt returns how long one digest request to p may go unanswered (see above).
func (n *Node) digestAttempt(p wire.PeerKey) time.Duration {
	d := max(digestAttemptRTTs*n.ep.RTT(p), n.cfg.antiEntropy/4)
	return min(max(d, minDigestAttempt), n.exchangeDeadline()/2)
}

// digestRequest sends the digest to p and returns p's answer, sending it again on a fresh
// stream each time an attempt goes unanswered for digestAttempt. The last attempt, once less
// than one attempt is left before ctx's deadline, runs on ctx itself. Every retried attempt
// lasts its whole span (an attempt that failed early with a timeout is waited out), so retries
// are paced at one per attempt whatever the endpoint answers: without that, the moment between
// ctx's deadline passing and ctx reporting it would retry in a tight loop.
func (n *Node) digestRequest(ctx context.Context, p wire.PeerKey, digest []byte) ([]byte, error) {
	for {
		attempt := n.digestAttempt(p)
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) < attempt {
			return n.ep.Request(ctx, p, methodDigest, digest)
		}
		actx, cancel := context.WithTimeout(ctx, attempt)
		reply, err := n.ep.Request(actx, p, methodDigest, digest)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			cancel()
			return reply, err
		}
		<-actx.Done()
		cancel()
		n.exch.retried.Add(1)
	}
}

// fullExchange sends this node's heads to p and checks the heads p answers with.
func (n *Node) fullExchange(ctx context.Context, p wire.PeerKey) {
	n.exch.full.Add(1)
	reply, err := n.ep.Request(ctx, p, methodHeads, headsMsg(n.heads()))
	if err != nil {
		n.log.Debug("heads exchange", "peer", p.Short(), "err", err)
		return
	}
	hs, err := wire.UnmarshalHeads(reply)
	if err != nil {
		n.log.Warn("malformed heads reply", "peer", p.Short(), "err", err)
		return
	}
	n.reconcile(ctx, p, hs.Heads)
	n.markSynced(p)
}

// lacks reports whether a peer that showed the heads theirs lacks something of ours: a log it
// does not hold, a shorter head, or another head of the same length. Both are sorted by key, as
// UnmarshalHeads and storage.Store.HeadsGen return them; theirs may hold several heads of a key.
func lacks(theirs, ours []wire.SignedHead) bool {
	i := 0
	for _, h := range ours {
		for i < len(theirs) && bytes.Compare(theirs[i].Key[:], h.Key[:]) < 0 {
			i++
		}
		var best *wire.SignedHead // their longest head of h.Key
		for ; i < len(theirs) && theirs[i].Key == h.Key; i++ {
			if best == nil || theirs[i].Length >= best.Length {
				best = &theirs[i]
			}
		}
		if best == nil || best.Length < h.Length || (best.Length == h.Length && *best != h) {
			return true
		}
	}
	return false
}

// agreed records what an exchange with matching digests shows: p holds exactly the heads hs of
// this node. So p holds each of those logs as far as this node does, and, if hs has this node's
// own log, p holds none of it that this node lost.
func (n *Node) agreed(p wire.PeerKey, hs []wire.SignedHead) {
	own := false
	for _, h := range hs {
		if h.Key == n.key {
			own = true
			continue
		}
		n.noteHolder(p, h)
	}
	if own {
		n.ownLogChecked()
	}
}

// Kinds of per-peer work of which at most one runs at a time.
const (
	busyExchange = iota
	busyReconcile
)

type busyKey struct {
	peer wire.PeerKey
	kind int
}

// tryBusy marks kind of work for peer p as running; it reports false if it already is.
func (n *Node) tryBusy(p wire.PeerKey, kind int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := busyKey{p, kind}
	if n.busy[k] {
		return false
	}
	n.busy[k] = true
	return true
}

func (n *Node) doneBusy(p wire.PeerKey, kind int) {
	n.mu.Lock()
	delete(n.busy, busyKey{p, kind})
	n.mu.Unlock()
}

// startExchange runs one heads exchange with p in the background unless one is running already.
func (n *Node) startExchange(p wire.PeerKey) {
	if !n.tryBusy(p, busyExchange) {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.doneBusy(p, busyExchange)
		ctx, cancel := context.WithTimeout(n.ctx, n.exchangeDeadline())
		defer cancel()
		n.exchangeHeads(ctx, p)
	}()
}

// reconcile checks heads received from p and fetches from p every log it is ahead on.
func (n *Node) reconcile(ctx context.Context, p wire.PeerKey, heads []wire.SignedHead) {
	sawOwn, recovering := false, false
	defer func() {
		if sawOwn && !recovering { // p holds the own log and nothing of it this node lacks
			n.ownLogChecked()
		}
	}()
	for _, h := range heads {
		if ctx.Err() != nil {
			continue
		}
		if h.Key == n.key {
			sawOwn, recovering = true, n.checkOwnHead(p, h)
			continue
		}
		n.discover(h.Key, netip.AddrPort{}) // peer exchange: a log writer is a market peer
		if n.store.Log(h.Key).Head() == h {
			n.noteHolder(p, h)
			continue // the very head held already: nothing new, no signature to check
		}
		need, err := n.store.ObserveHead(h)
		if err != nil {
			n.importFailed(p, h.Key, err)
			continue
		}
		n.noteHead(h)
		n.noteHolder(p, h)
		if need {
			n.startFetch(p, h.Key)
		}
	}
}
