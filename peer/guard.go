package peer

import (
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Per-caller limits of the engine, on top of the transport's per-caller call rate (peer/rpc):
// the transport counts calls, these count what a call costs.
const (
	// FetchEntriesPerSecond is the rate at which one caller may fetch log entries from this
	// node, in entries per second, with a burst of FetchEntriesBurst: a fresh peer catching up on
	// a log of 100,000 entries from this node gets them at full speed, while a caller fetching
	// the same ranges over and over costs this node at most this many entry reads per second.
	// A fetch beyond it is answered "overloaded" at once; the fetcher tries again at its next
	// anti-entropy exchange, or from another peer.
	FetchEntriesPerSecond = 32 << 10
	// FetchEntriesBurst is the burst of FetchEntriesPerSecond, in entries.
	FetchEntriesBurst = 128 << 10
	// BadSignaturePenalty is how long a caller that sent a bid whose signature does not verify
	// has its bids refused without a check. Honest peers never send one; a peer that does is
	// broken or hostile, and its bad signatures would otherwise cost a verification each and
	// spoil the batch checks of honest bids.
	BadSignaturePenalty = 30 * time.Second
)

// maxGuarded bounds the callers whose budgets are tracked; when full, the oldest state is
// dropped (a dropped caller starts again with a full budget and no penalty).
const maxGuarded = 4096

// callerGuard is the engine's per-caller state. Guarded by Node.mu.
type callerGuard struct {
	fetchTokens float64
	fetchLast   time.Time
	penaltyEnds time.Time
}

// guardLocked returns the state of caller k, creating it. n.mu must be held.
func (n *Node) guardLocked(k wire.PeerKey) *callerGuard {
	g := n.guards[k]
	if g == nil {
		if len(n.guards) >= maxGuarded {
			clear(n.guards)
		}
		g = &callerGuard{fetchTokens: FetchEntriesBurst}
		n.guards[k] = g
	}
	return g
}

// takeFetchBudget takes entries from caller k's fetch budget; it reports false, taking nothing,
// when the budget does not hold them.
func (n *Node) takeFetchBudget(k wire.PeerKey, entries int, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	g := n.guardLocked(k)
	if !g.fetchLast.IsZero() {
		if d := now.Sub(g.fetchLast); d > 0 {
			g.fetchTokens = min(FetchEntriesBurst, g.fetchTokens+d.Seconds()*FetchEntriesPerSecond)
		}
	}
	g.fetchLast = now
	if g.fetchTokens < float64(entries) {
		return false
	}
	g.fetchTokens -= float64(entries)
	return true
}

// penalised reports whether caller k's bids are refused for a bad signature.
func (n *Node) penalised(k wire.PeerKey, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	g := n.guards[k]
	return g != nil && now.Before(g.penaltyEnds)
}

// penalise refuses caller k's bids for BadSignaturePenalty from now.
func (n *Node) penalise(k wire.PeerKey, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.guardLocked(k).penaltyEnds = now.Add(BadSignaturePenalty)
}
