package peer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/auction-tui/auction-tui/peer/rpc"
	"github.com/auction-tui/auction-tui/storage"
	"github.com/auction-tui/auction-tui/wire"
)

// Replication. Push: every batch this node commits to its own log goes at once to every
// connected market peer (one copy per peer; see push.go). Pull: on connect and every anti-entropy period,
// peers exchange their signed heads and fetch the ranges they miss, with the signed head that
// proves them. Every range is verified by the store (signature, Merkle root) before it is kept.

// RPC method names of the market protocol.
const (
	methodBid   = "auction/bid"
	methodPush  = "log/push"
	methodHeads = "log/heads"
	// methodDigest opens an anti-entropy exchange with a digest of the caller's heads (see
	// exchange.go).
	methodDigest = "log/digest"
	methodFetch  = "log/fetch"
	// methodAnnounce tells peers of a head this node fetched (see announce).
	methodAnnounce = "log/announce"
)

// exchangeTimeout bounds one heads exchange (request, answer and the checks of the heads). An
// exchange sent into a partition must not hold the peer's single exchange slot for long after
// the partition heals: its request waits for QUIC's probe timeout, which backs off to seconds
// during a partition, so the node gives up on it after twice the anti-entropy period (at least
// minNetTimeout, at most this) and the next one, on a fresh stream, goes out at once.
const exchangeTimeout = 5 * time.Second

// fetchTimeout bounds one fetch request. A fetch holds the log's single fetch slot, so one sent
// to a peer that died or was cut off (its connection not yet known to be gone) must fail soon:
// the next heads exchange with a live peer that holds the entries starts the fetch again, from
// that peer. It is four anti-entropy periods, at least minNetTimeout and at most this.
const fetchTimeout = 2 * time.Second

// minNetTimeout is the shortest deadline of an exchange or a fetch, whatever the anti-entropy
// period: a loaded machine must still complete them.
const minNetTimeout = 500 * time.Millisecond

// exchangeDeadline returns the deadline of one heads exchange (see exchangeTimeout).
func (n *Node) exchangeDeadline() time.Duration {
	return min(exchangeTimeout, max(2*n.cfg.antiEntropy, minNetTimeout))
}

// fetchDeadline returns the deadline of one fetch request (see fetchTimeout).
func (n *Node) fetchDeadline() time.Duration {
	return min(fetchTimeout, max(4*n.cfg.antiEntropy, minNetTimeout))
}

// fetchAhead is the number of fetched ranges that may wait to be verified and stored.
const fetchAhead = 2

// Hedged fetches. A fetch holds its log's single fetch slot, and one request can stall for the
// whole fetch deadline: sent to a peer that just crashed, or on a connection that a duplicate
// dial or a partition left stuck behind QUIC's loss recovery. So a fetch request that has no
// answer after hedgeDelay (or that failed) is sent once more to another connected peer that showed
// a head of the log covering the range; the first valid answer wins and the fetch goes on from
// that peer. When no such peer is known yet, the fetch looks again after every hedgeDelay until
// its deadline. Each fetch hedges at most once, so a slow but healthy transfer costs at most one
// duplicate range.
const (
	// hedgeMin is the shortest wait before a hedge: well above a round trip on loopback or a
	// LAN, so that a healthy fetch is never duplicated.
	hedgeMin = 50 * time.Millisecond
	// hedgeRTTs is the wait before a hedge in round trips to the peer asked first.
	hedgeRTTs = 4
	// maxHolders bounds the peers remembered per log as holding it (the candidates of a hedge).
	maxHolders = 8
	// maxFetchAsks bounds the requests one fetch request may become: the first, its hedge and
	// those sent to peers that nudged it (see startFetch).
	maxFetchAsks = 4
)

// hedgeDelay returns how long a fetch request to p waits before it is hedged: hedgeRTTs round
// trips, at least hedgeMin, at most half the fetch deadline. (A delay learnt from the node's own
// fetch latencies was tried in the sixth session and made heals slower: RELIABILITY.md §2.)
func (n *Node) hedgeDelay(p wire.PeerKey) time.Duration {
	return min(max(hedgeMin, hedgeRTTs*n.ep.RTT(p)), n.fetchDeadline()/2)
}

// fetchCounts counts fetch requests by why they went out (see FetchStats).
type fetchCounts struct {
	requests, hedged, nudged atomic.Uint64
}

// holderSet is the peers known to hold one log, with the length of the head each showed: at most
// maxHolders, in a fixed array (noteHolder runs for every head of every exchange).
type holderSet struct {
	n    int
	keys [maxHolders]wire.PeerKey
	lens [maxHolders]uint64
}

// noteHolder records that peer p showed head h (so p holds log h.Key up to h.Length). Of more than
// maxHolders peers per log, the one with the shortest head is forgotten.
func (n *Node) noteHolder(p wire.PeerKey, h wire.SignedHead) {
	if p == h.Key || p == n.key {
		return // the writer is asked anyway; this node does not fetch from itself
	}
	n.holdersMu.Lock()
	defer n.holdersMu.Unlock()
	hs := n.holders[h.Key]
	if hs == nil {
		hs = new(holderSet)
		n.holders[h.Key] = hs
	}
	least := 0
	for i := range hs.n {
		if hs.keys[i] == p {
			hs.lens[i] = max(hs.lens[i], h.Length)
			return
		}
		if hs.lens[i] < hs.lens[least] {
			least = i
		}
	}
	switch {
	case hs.n < maxHolders:
		hs.keys[hs.n], hs.lens[hs.n] = p, h.Length
		hs.n++
	case hs.lens[least] < h.Length:
		hs.keys[least], hs.lens[least] = p, h.Length
	}
}

// otherHolder returns a connected peer other than p that showed a head of log k longer than
// start, preferring the writer itself, then the longest head.
func (n *Node) otherHolder(k, p wire.PeerKey, start uint64) (wire.PeerKey, bool) {
	var cands holderSet
	n.holdersMu.Lock()
	if hs := n.holders[k]; hs != nil {
		cands = *hs
	}
	n.holdersMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	connected := func(q wire.PeerKey) bool { pi := n.peers[q]; return pi != nil && pi.connected }
	if k != p && k != n.key && connected(k) && n.known[k] > start {
		return k, true // the writer holds its whole log
	}
	var best wire.PeerKey
	var bestLen uint64
	for i := range cands.n {
		if q, l := cands.keys[i], cands.lens[i]; q != p && l > start && l > bestLen && connected(q) {
			best, bestLen = q, l
		}
	}
	return best, bestLen > 0
}

// fetchAnswer is one answer to a fetch request.
type fetchAnswer struct {
	from  wire.PeerKey
	reply []byte
	err   error
}

// fetchRange sends one fetch request for log k to p. When hedge is true and no answer came within
// hedgeDelay (or p failed), it is sent to another holder (see otherHolder); a peer received on
// nudge (see startFetch) is asked too once the request has waited hedgeDelay. At most
// maxFetchAsks requests go out. It returns the first successful answer and the peer that gave it,
// or the first error when every request failed; hedged reports whether a hedge was sent.
func (n *Node) fetchRange(ctx context.Context, p, k wire.PeerKey, req wire.FetchRequest, hedge bool, nudge <-chan wire.PeerKey) (reply []byte, from wire.PeerKey, hedged bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.fetchDeadline())
	defer cancel() // ends the requests still running once an answer won
	answers := make(chan fetchAnswer, maxFetchAsks)
	payload := req.Marshal()
	pending, asked := 0, 0
	ask := func(q wire.PeerKey, why string) {
		pending++
		asked++
		n.fetches.requests.Add(1)
		switch why {
		case "hedged":
			n.fetches.hedged.Add(1)
		case "nudged":
			n.fetches.nudged.Add(1)
		}
		if why != "" {
			n.log.Debug("fetch "+why, "peer", p.Short(), "to", q.Short(), "log", k.Short(), "start", req.Start)
		}
		n.wg.Add(1)
		go func() { // owned by fetchRange: ctx bounds it, and answers has room for every request
			defer n.wg.Done()
			r, err := n.ep.Request(ctx, q, methodFetch, payload)
			answers <- fetchAnswer{from: q, reply: r, err: err}
		}()
	}
	ask(p, "")
	wait := n.hedgeDelay(p)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	waited := false          // the requests have been out for a hedge delay
	var early []wire.PeerKey // nudges that came before that, asked when it is over
	var first error
	tryHedge := func() {
		if !hedge || hedged || asked >= maxFetchAsks || ctx.Err() != nil {
			return
		}
		q, ok := n.otherHolder(k, p, req.Start)
		if !ok {
			n.hedgeWaits.Add(1)
			return
		}
		hedged = true
		ask(q, "hedged")
	}
	for {
		select {
		case a := <-answers:
			pending--
			if a.err == nil {
				return a.reply, a.from, hedged, nil
			}
			if first == nil {
				first = a.err
			}
			tryHedge() // a request failed early: ask another holder now
			if pending == 0 {
				return nil, p, hedged, first
			}
		case q := <-nudge:
			// q answers now and holds more of the log. Requests out for longer than a hedge
			// delay may be stuck (sent into a partition since healed, or to a peer that died):
			// ask q on a fresh stream.
			switch {
			case ctx.Err() != nil || asked >= maxFetchAsks:
			case waited:
				ask(q, "nudged")
			case !slices.Contains(early, q):
				early = append(early, q)
			}
		case <-timer.C:
			waited = true
			for _, q := range early {
				if asked < maxFetchAsks && ctx.Err() == nil {
					ask(q, "nudged")
				}
			}
			early = nil
			tryHedge()
			if !hedged {
				// No other holder known yet (a node that just started learns them from the
				// exchanges under way): look again after the same wait.
				timer.Reset(wait)
			}
		}
	}
}

func (n *Node) handlePush(_ context.Context, req *rpc.Request) ([]byte, error) {
	r, err := wire.UnmarshalRange(req.Payload)
	if err != nil {
		return nil, rpc.Reject("malformed range: " + err.Error())
	}
	// The range is here, whole: store it even if its connection closes meanwhile (replaced after
	// a restart, drained as a duplicate) or the pusher stops waiting. Dropping it would leave the
	// entries to the next heads exchange, a period later. The import's work is bounded by the
	// range's size limits and the handler slots per peer; the node's shutdown still stops it.
	n.importRange(n.ctx, req.Caller, r)
	return nil, nil
}

// importRange verifies and stores r, then replays what is new into the book. When r does not
// start at or before the end of what is held, it fetches the gap from the peer it came from.
func (n *Node) importRange(ctx context.Context, from wire.PeerKey, r wire.Range) {
	k := r.Head.Key
	if k == n.key {
		return
	}
	// A head counts towards what this node wants only once its signature verified: a forged head
	// must not leave the node waiting for entries that do not exist.
	_, err := n.store.Import(ctx, r.Head, r.Start, r.Entries)
	switch {
	case err == nil:
		n.noteHead(r.Head)
		n.noteHolder(from, r.Head)
	case errors.Is(err, storage.ErrGap):
		if r.Head.Verify() != nil {
			n.importFailed(from, k, wire.ErrBadSignature)
			return
		}
		n.noteHead(r.Head)
		n.startFetch(from, k)
		return
	default:
		n.importFailed(from, k, err)
		return
	}
	n.afterImport(k, r)
}

// afterImport replays what an import of r added to log k into the book and reports sync
// progress.
func (n *Node) afterImport(k wire.PeerKey, r wire.Range) {
	n.applyNew(k, r)
	n.mu.Lock()
	if k != n.key {
		n.ensurePeerLocked(k)
	}
	sync := n.syncLocked()
	n.mu.Unlock()
	n.emit(Event{Kind: EventSync, Sync: sync})
}

func (n *Node) importFailed(from, k wire.PeerKey, err error) {
	var eq *storage.EquivocationError
	if errors.As(err, &eq) {
		n.log.Warn("equivocation: a peer signed two inconsistent heads", "log", k.Short(), "from", from.Short())
		n.mu.Lock()
		p := n.ensurePeerLocked(k)
		first := !p.equivocated
		p.equivocated = true
		info := n.peerInfoLocked(k, p)
		n.mu.Unlock()
		if first {
			n.emit(Event{Kind: EventEquivocation, Peer: info})
		}
		return
	}
	n.log.Warn("range rejected", "log", k.Short(), "from", from.Short(), "err", err)
}

func (n *Node) noteHead(h wire.SignedHead) {
	n.mu.Lock()
	if h.Length > n.known[h.Key] {
		n.known[h.Key] = h.Length
	}
	n.mu.Unlock()
}

// startFetch fetches log k from peer p in the background unless a fetch of k is running already:
// that one chases the newest head known, so pushes that arrive ahead of a gap never start a storm
// of fetches. A running fetch is told of p instead (a nudge): p has just shown, by an exchange, a
// push or an announce, that it holds more of k and that it answers now, so a fetch request that is
// stuck (sent into a partition that has healed since, or to a peer that died) is sent to p too.
func (n *Node) startFetch(p, k wire.PeerKey) {
	n.mu.Lock()
	if nudge, ok := n.fetching[k]; ok {
		n.mu.Unlock()
		select {
		case nudge <- p:
		default: // a nudge is pending already
		}
		return
	}
	nudge := make(chan wire.PeerKey, 1)
	n.fetching[k] = nudge
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.fetchLog(n.ctx, p, k, nudge)
		n.mu.Lock()
		delete(n.fetching, k)
		n.mu.Unlock()
		if k == n.key {
			n.ownLogChecked()
		}
	}()
}

// fetchLog fetches log k from peer p until this node holds every entry of the newest head known
// or p has no more. Fetching is pipelined: while one range is verified, stored and replayed, the
// next one is already on its way (at most fetchAhead ranges in flight).
func (n *Node) fetchLog(ctx context.Context, p, k wire.PeerKey, nudge <-chan wire.PeerKey) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ranges := make(chan wire.Range, fetchAhead)
	go func() { // owned by fetchLog: it ends when ctx is cancelled or the log is fetched
		defer close(ranges)
		next := n.store.Log(k).Len()
		src, hedge := p, true // the peer asked; whether this fetch may still hedge
		for {
			n.mu.Lock()
			want := n.known[k]
			n.mu.Unlock()
			if next >= want {
				return
			}
			// Ask for a whole range: the peer answers up to a head it kept (it keeps every head
			// only near its log's end), which may be beyond want.
			req := wire.FetchRequest{Key: k, Start: next, End: next + wire.MaxRangeEntries}
			reply, from, hedged, err := n.fetchRange(ctx, src, k, req, hedge, nudge)
			hedge = hedge && !hedged
			if err != nil {
				n.log.Debug("fetch", "peer", src.Short(), "log", k.Short(), "err", err)
				return
			}
			src = from
			r, err := wire.UnmarshalRange(reply)
			if err != nil || r.Head.Key != k || r.Start != next || len(r.Entries) == 0 {
				n.log.Warn("bad fetch reply", "peer", src.Short(), "log", k.Short(), "err", err)
				return
			}
			next = r.End() // the head is noted once the range imported, i.e. verified
			select {
			case ranges <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var fetched wire.SignedHead
	defer func() {
		if fetched.Length > 0 && k != n.key {
			n.announce(p, fetched)
		}
	}()
	for r := range ranges {
		var err error
		if k == n.key {
			_, err = n.store.RecoverOwn(ctx, r.Head, r.Start, r.Entries)
		} else {
			_, err = n.store.Import(ctx, r.Head, r.Start, r.Entries)
		}
		if err != nil {
			if !errors.Is(err, storage.ErrGap) {
				n.importFailed(p, k, err)
			}
			return
		}
		n.noteHead(r.Head)
		n.afterImport(k, r)
		fetched = r.Head
	}
}

// announceFanout is the number of random connected peers a fetched head is announced to.
const announceFanout = 4

// announce tells announceFanout random connected peers (not from, not the log's writer) of a
// head this node fetched: entries that came by fetch rather than by the writer's push (after a
// partition, a restart, a lost push) would otherwise spread only at the pace of the periodic
// exchanges. Only the signed head travels; a peer that lacks its entries fetches them (once)
// from this node and announces them in turn, so they spread epidemically in a few round trips.
// In a full mesh with no faults nothing is fetched, so nothing is announced, and pushes stay the
// only copies of entries.
func (n *Node) announce(from wire.PeerKey, h wire.SignedHead) {
	payload := wire.Heads{Heads: []wire.SignedHead{h}}.Marshal()
	n.mu.Lock()
	var targets []wire.PeerKey
	for k, p := range n.peers {
		if p.connected && k != from && k != h.Key {
			targets = append(targets, k)
		}
	}
	n.mu.Unlock()
	rand.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
	targets = targets[:min(len(targets), announceFanout)]
	for _, k := range targets {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			ctx, cancel := context.WithTimeout(n.ctx, pushTimeout)
			defer cancel()
			if err := n.ep.Event(ctx, k, methodAnnounce, payload); err != nil {
				n.log.Debug("announce", "peer", k.Short(), "err", err)
			}
		}()
	}
}

func (n *Node) handleAnnounce(ctx context.Context, req *rpc.Request) ([]byte, error) {
	hs, err := wire.UnmarshalHeads(req.Payload)
	if err != nil {
		return nil, rpc.Reject("malformed heads: " + err.Error())
	}
	if len(hs.Heads) != 1 {
		return nil, rpc.Reject("an announce carries one head")
	}
	n.reconcile(ctx, req.Caller, hs.Heads)
	return nil, nil
}

func (n *Node) handleFetch(ctx context.Context, req *rpc.Request) ([]byte, error) {
	fr, err := wire.UnmarshalFetchRequest(req.Payload)
	if err != nil {
		return nil, rpc.Reject("malformed fetch: " + err.Error())
	}
	l := n.store.Log(fr.Key)
	head, ok := l.HeadFor(fr.Start, fr.End)
	if !ok {
		return nil, rpc.Reject("no entries from there")
	}
	if !n.takeFetchBudget(req.Caller, int(head.Length-fr.Start), time.Now()) {
		return nil, rpc.Overloaded(fmt.Sprintf("fetch budget of %d entries per second exceeded; try again later", FetchEntriesPerSecond))
	}
	entries, err := l.Range(fr.Start, head.Length)
	if err != nil {
		return nil, err
	}
	return wire.Range{Head: head, Start: fr.Start, Entries: entries}.Marshal(), nil
}

// Recovery of the own log. When the store found at open that the own log had lost entries it had
// signed (storage.Store.LostOwnEntries: a disk that lost synced writes), peers may still hold
// them. Appending before getting them back would sign different entries at the same indexes, which
// every peer that saw the old ones reports as equivocation. So the sequencer waits until a peer's
// heads were checked (and any longer copy of the own log fetched and restored, verified against
// this node's own signature), or for ownRecoveryGrace when no peer answers.

// ownRecoveryGrace bounds how long a node that lost own entries waits for a peer before it
// appends again.
const ownRecoveryGrace = 10 * time.Second

// checkOwnHead handles a head of this node's own log received from p; it reports whether a fetch
// of the own log from p started (the own log is behind a head it signed).
func (n *Node) checkOwnHead(p wire.PeerKey, h wire.SignedHead) bool {
	if h.Length <= n.store.Own().Len() {
		return false
	}
	need, err := n.store.ObserveHead(h)
	if err != nil {
		n.log.Warn("a peer holds a head of this node's log that does not verify or disagrees", "from", p.Short(), "err", err)
		return false
	}
	if !need {
		return false
	}
	n.log.Warn("a peer holds entries of this node's log that it lost; fetching them", "from", p.Short(),
		"held", n.store.Own().Len(), "peer has", h.Length)
	n.noteHead(h)
	n.startFetch(p, n.key)
	return true
}

// ownLogChecked opens the sequencer's gate, if it was closed for recovery.
func (n *Node) ownLogChecked() {
	n.recoverOnce.Do(func() { close(n.recovered) })
}

// waitOwnRecovery blocks the sequencer until the own log was checked against a peer's copy or
// the grace period passed. It returns at once when nothing was lost.
func (n *Node) waitOwnRecovery() {
	select {
	case <-n.recovered:
		return
	default:
	}
	t := time.NewTimer(ownRecoveryGrace)
	defer t.Stop()
	select {
	case <-n.recovered:
	case <-t.C:
		n.log.Warn("no peer answered about the lost own entries; appending again", "grace", ownRecoveryGrace)
		n.ownLogChecked()
	case <-n.ctx.Done():
	}
}
