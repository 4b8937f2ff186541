package dht

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Candidate states in a lookup.
const (
	candNew = iota
	candInFlight
	candAnswered
	candFailed
)

// seed is a starting point of a lookup: a saved or table node (keyed) or a bootstrap address.
type seed struct {
	addr  netip.AddrPort
	key   wire.PeerKey
	keyed bool
}

type candidate struct {
	node    wire.DHTNode
	id      ID
	keyed   bool // false for a bootstrap address whose key is not known yet
	state   int
	retried bool              // a second request was sent after the first timed out
	req     wire.DHTRequestID // the id of the latest request
	granted bool              // the latest request was granted a second timeout (its reply arrived)
	depth   int               // 0 for seeds; a node learned from a reply of depth d has depth d+1
	sent    time.Time
	timeout time.Duration
	// guessed: the latest request's timeout is InitialRequestTimeout, chosen before any round
	// trip was measured; it shrinks to the estimate once replies to this lookup give one.
	guessed bool
	token   wire.DHTToken
	p       *pending
}

// RecordQuorum is the number of nodes that must have returned records of a topic before Lookup
// ends without waiting for the rest of the k closest nodes: records are stored at all of the k
// closest nodes, so the first few that hold any hold (nearly) all of them. A lookup that finds
// fewer holders than this ends the precise way.
const RecordQuorum = 3

// lookupStats describes one lookup, for tests and benchmarks.
type lookupStats struct {
	requests, replies, timeouts, retries int
	hops                                 int           // 1 + the largest depth among the nodes the end waited for
	maxWait                              time.Duration // longest wait on a timed-out request beyond its timeout, less maxLate
	maxLate                              time.Duration // longest delay of the timer firing (scheduling), for diagnosis
	maxTimeout                           time.Duration // longest soft timeout a request timed out on
	firstHit                             time.Duration // time to the first reply carrying a valid record
	duration                             time.Duration
}

type lookupResult struct {
	closest []*candidate // answered, closest first, at most k
	records map[wire.PeerKey]wire.DHTRecord
	stats   lookupStats
}

// lookup runs an iterative lookup of target with kind (DHTFindNode or DHTGetRecords), starting
// from the k closest nodes of the table and from seeds, with alpha requests in flight.
//
// A request that passes its soft timeout (srtt + 4*rttvar of that node) stops counting as in
// flight, so the lookup moves on; a node among the k closest (or a bootstrap address) gets one
// more request with twice the timeout; a late reply to either request is still used. A node is charged a failure in the
// routing table only when no reply came by the hard expiry, and never because a lookup ended.
//
// It ends when the k closest candidates that did not time out have all answered, when nothing is
// left to ask, at the lookup deadline, or, when quorum > 0, as soon as quorum nodes returned
// valid records. On a deadline or a cancelled ctx it returns what it has and the context's error.
func (n *Node) lookup(ctx context.Context, kind wire.DHTKind, target ID, seeds []seed, quorum int) (*lookupResult, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, n.cfg.lookupTimeout)
	defer cancel()
	k := n.cfg.k
	res := &lookupResult{}
	if kind == wire.DHTGetRecords {
		res.records = make(map[wire.PeerKey]wire.DHTRecord)
	}

	var cands []*candidate // keyless first, then by distance to target
	byAddr := make(map[netip.AddrPort]*candidate)
	byKey := make(map[wire.PeerKey]*candidate)
	byReq := make(map[wire.DHTRequestID]*candidate)
	cmp := func(a, b *candidate) int {
		switch {
		case !a.keyed && !b.keyed:
			return 0
		case !a.keyed:
			return -1
		case !b.keyed:
			return 1
		}
		return cmpDist(&target, &a.id, &b.id)
	}
	add := func(nd wire.DHTNode, keyed bool, depth int) {
		if keyed && (nd.Key == n.key || byKey[nd.Key] != nil) {
			return
		}
		if byAddr[nd.Addr] != nil || !validContactAddr(nd.Addr) {
			return
		}
		c := &candidate{node: nd, keyed: keyed, depth: depth}
		if keyed {
			c.id = IDOf(nd.Key)
			byKey[nd.Key] = c
		}
		byAddr[nd.Addr] = c
		i, _ := slices.BinarySearchFunc(cands, c, cmp)
		if !keyed {
			i = 0
		}
		cands = slices.Insert(cands, i, c)
		if len(cands) > MaxLookupCandidates {
			// Drop the farthest candidate not yet asked.
			for j := len(cands) - 1; j >= 0; j-- {
				if d := cands[j]; d.state == candNew {
					delete(byAddr, d.node.Addr)
					if d.keyed {
						delete(byKey, d.node.Key)
					}
					cands = slices.Delete(cands, j, j+1)
					break
				}
			}
		}
	}
	n.mu.Lock()
	for _, c := range n.tab.closest(target, k, nil) {
		add(wire.DHTNode{Key: c.key, Addr: c.addr}, true, 0)
	}
	n.tab.touch(target, time.Now())
	n.mu.Unlock()
	for _, s := range seeds {
		add(wire.DHTNode{Key: s.key, Addr: s.addr}, s.keyed, 0)
	}
	if len(cands) == 0 {
		return res, ErrNoContacts
	}

	// Room for a reply to every request the lookup may have out: k in the final round, plus
	// retries and late replies; the read loop drops what does not fit.
	ch := make(chan response, 4*MaxK)
	parallel := n.cfg.alpha
	inflight := 0
	holders := 0
	stale := 0            // replies in a row that brought no closer node
	var ends []*candidate // the candidates the end waited for, for the hops figure
	timedOut := make(map[wire.DHTRequestID]bool)
	defer func() {
		// Requests still in flight are forgotten: nobody waits for them. Those that timed
		// out stay until their hard expiry, which charges their nodes with a failure unless a
		// reply comes first.
		ids := make([]wire.DHTRequestID, 0, len(byReq))
		for id := range byReq {
			if !timedOut[id] {
				ids = append(ids, id)
			}
		}
		n.forget(ids)
	}()
	// Lookups for records are latency-critical: they use a reply at once and check its
	// signature later, for the routing table only. Other lookups (bootstrap, refresh, announce)
	// check it first, so the table holds the responders when they return.
	inline := kind != wire.DHTGetRecords

	// topK calls f on the k closest candidates that did not time out, keyless ones first.
	topK := func(f func(c *candidate) bool) {
		rank := 0
		for _, c := range cands {
			if c.state == candFailed {
				continue
			}
			if c.keyed {
				if rank >= k {
					return
				}
				rank++
			}
			if !f(c) {
				return
			}
		}
	}
	pick := func() (out *candidate) {
		topK(func(c *candidate) bool {
			if c.state == candNew {
				out = c
				return false
			}
			return true
		})
		return out
	}
	finished := func() bool {
		done := true
		topK(func(c *candidate) bool {
			done = c.state == candAnswered
			return done
		})
		return done
	}
	inTopK := func(x *candidate) (in bool) {
		topK(func(c *candidate) bool {
			in = c == x
			return !in
		})
		return in
	}
	closestDist := func() *candidate {
		for _, c := range cands {
			if c.keyed && c.state != candFailed {
				return c
			}
		}
		return nil
	}
	ask := func(c *candidate, timeout time.Duration) error {
		r := &request{req: wire.DHTRequest{Kind: kind, Target: target}, to: c.node.Addr, ch: ch, direct: true, timeout: timeout}
		if c.keyed {
			key := c.node.Key
			r.expect = &key
		}
		id, timeout, sent, p, err := n.sendP(r)
		if err != nil {
			return err
		}
		c.state, c.sent, c.timeout, c.p, c.req, c.granted = candInFlight, sent, timeout, p, id, false
		c.guessed = timeout == InitialRequestTimeout
		byReq[id] = c
		inflight++
		res.stats.requests++
		return nil
	}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var err error
loop:
	for {
		if quorum > 0 && holders >= quorum {
			break
		}
		for inflight < parallel {
			c := pick()
			if c == nil {
				break
			}
			if serr := ask(c, 0); serr != nil {
				c.state = candFailed
				if serr == ErrClosed {
					err = ErrClosed
					break loop
				}
			}
		}
		if inflight == 0 || finished() {
			break
		}
		// Wake at the earliest soft deadline.
		var next time.Time
		for _, c := range cands {
			if c.state == candInFlight {
				if d := c.sent.Add(c.timeout); next.IsZero() || d.Before(next) {
					next = d
				}
			}
		}
		timer.Reset(time.Until(next))
		select {
		case r := <-ch:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			c := byReq[r.id]
			if c == nil || r.raw == nil || c.state == candAnswered {
				continue
			}
			rep := n.accept(r, inline)
			if rep == nil {
				continue
			}
			if c.state == candInFlight {
				inflight--
			}
			res.stats.replies++
			// The first replies measure round trips: requests sent before, on the initial
			// guess (half a second), now time out on that estimate instead. Otherwise a node
			// starting from saved contacts waits the whole guess on one that is gone.
			for _, o := range cands {
				if o.state == candInFlight && o.guessed {
					if t := n.timeoutFor(o.keyed, o.id); t < o.timeout {
						o.timeout, o.guessed = t, false
					}
				}
			}
			before := closestDist()
			c.state = candAnswered
			c.token = rep.Token
			if !c.keyed {
				// A bootstrap address answered: now its key is known.
				if other := byKey[rep.Responder]; other != nil || rep.Responder == n.key {
					if other != nil && other.state != candAnswered {
						if other.state == candInFlight {
							inflight--
						}
						other.state, other.token = candAnswered, rep.Token
					}
					c.state = candFailed // a duplicate; do not count it twice
				} else {
					i := slices.Index(cands, c)
					cands = slices.Delete(cands, i, i+1)
					c.keyed, c.node.Key, c.id = true, rep.Responder, IDOf(rep.Responder)
					byKey[c.node.Key] = c
					j, _ := slices.BinarySearchFunc(cands, c, cmp)
					cands = slices.Insert(cands, j, c)
				}
			}
			for _, nd := range rep.Nodes {
				add(nd, true, c.depth+1)
			}
			if res.records != nil && n.collect(res.records, Topic(target), rep.Records) > 0 {
				if holders++; holders == 1 {
					res.stats.firstHit = time.Since(start)
				}
				ends = append(ends, c)
			}
			if after := closestDist(); before != nil && after == before {
				// A whole round of alpha replies brought nothing closer: ask all of the k
				// closest at once (Kademlia's final round).
				if stale++; stale >= n.cfg.alpha {
					parallel = k
				}
			} else {
				stale = 0
			}
		case <-timer.C:
			now := time.Now()
			// How late the timer fired: on a loaded host the goroutine may wait to be scheduled.
			late := max(0, now.Sub(next))
			res.stats.maxLate = max(res.stats.maxLate, late)
			for _, c := range cands {
				if c.state != candInFlight || now.Before(c.sent.Add(c.timeout)) {
					continue
				}
				if !c.granted && c.p != nil && c.p.arrived.Load() {
					// The reply is here and waits to be checked: grant it one more timeout,
					// once.
					c.granted = true
					c.timeout *= 2
					continue
				}
				c.state = candFailed // its reply is still used if it comes
				timedOut[c.req] = true
				inflight--
				res.stats.timeouts++
				res.stats.maxTimeout = max(res.stats.maxTimeout, c.timeout)
				n.stats.timeouts.Add(1)
				res.stats.maxWait = max(res.stats.maxWait, now.Sub(c.sent)-c.timeout-late)
				if !c.retried {
					c.state = candNew
					if inTopK(c) {
						// One more try with twice the timeout: on a loaded host a reply is late
						// more often than a node is dead.
						c.retried = true
						if ask(c, min(2*c.timeout, MaxRequestTimeout)) == nil {
							res.stats.retries++
							continue
						}
					}
					c.state = candFailed
				}
			}
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	if quorum == 0 || holders < quorum {
		ends = ends[:0]
	}
	for _, c := range cands {
		if c.keyed && c.state == candAnswered {
			res.closest = append(res.closest, c)
			if len(ends) == 0 {
				res.stats.hops = max(res.stats.hops, c.depth+1)
			}
			if len(res.closest) == k {
				break
			}
		}
	}
	for _, c := range ends {
		res.stats.hops = max(res.stats.hops, c.depth+1)
	}
	res.stats.duration = time.Since(start)
	if err == nil && res.stats.replies == 0 {
		err = ErrNoContacts
	}
	return res, err
}

// collect adds the valid records of a reply to recs, keeping the newest per key, and returns the
// number of valid records in the reply. Each record is checked against its own signature
// (verifyRecord): a reply cannot pass off other addresses or a later expiry under a signature
// made for another record.
func (n *Node) collect(recs map[wire.PeerKey]wire.DHTRecord, topic Topic, in []wire.DHTRecord) int {
	valid := 0
	now := n.cfg.now().UnixMilli()
	for i := range in {
		r := &in[i]
		if r.Expiry <= now || r.Expiry > now+(MaxRecordTTL+MaxClockSkew).Milliseconds() {
			continue
		}
		if !n.verifyRecord(topic, r) {
			continue
		}
		valid++
		if old, have := recs[r.Key]; !have || old.Expiry < r.Expiry {
			recs[r.Key] = *r
		}
	}
	return valid
}

// validContactAddr reports whether a may be contacted: a unicast address and a port.
func validContactAddr(a netip.AddrPort) bool {
	ip := a.Addr()
	return a.IsValid() && a.Port() != 0 && !ip.IsUnspecified() && !ip.IsMulticast() && ip.Zone() == ""
}
