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
	depth   int // 0 for seeds; a node learned from a reply of depth d has depth d+1
	sent    time.Time
	timeout time.Duration
	token   wire.DHTToken
	p       *pending
}

// lookupStats describes one lookup, for tests and benchmarks.
type lookupStats struct {
	requests, replies, timeouts int
	hops                        int           // 1 + the largest depth among the k closest that answered
	maxWait                     time.Duration // longest wait on a request that timed out, beyond its timeout
	duration                    time.Duration
}

type lookupResult struct {
	closest []*candidate // answered, closest first, at most k
	records map[wire.PeerKey]wire.DHTRecord
	stats   lookupStats
}

// lookup runs an iterative lookup of target with kind (DHTFindNode or DHTGetRecords), starting
// from the k closest nodes of the table and from seeds. It ends when the k closest candidates
// that did not time out have all answered, when nothing is left to ask, or at the lookup deadline.
// On a deadline or a cancelled ctx it returns what it has and the context's error.
func (n *Node) lookup(ctx context.Context, kind wire.DHTKind, target ID, seeds []seed) (*lookupResult, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, n.cfg.lookupTimeout)
	defer cancel()
	k := n.cfg.k
	res := &lookupResult{}
	if kind == wire.DHTGetRecords {
		res.records = make(map[wire.PeerKey]wire.DHTRecord)
	}
	verified := make(map[wire.Signature]bool)

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

	ch := make(chan response, 2*MaxK)
	done := make(chan struct{})
	defer close(done)
	parallel := n.cfg.alpha
	inflight := 0

	pick := func() *candidate {
		rank := 0
		for _, c := range cands {
			if c.state == candFailed {
				continue
			}
			if c.keyed {
				if rank >= k {
					return nil
				}
				rank++
			}
			if c.state == candNew {
				return c
			}
		}
		return nil
	}
	finished := func() bool {
		rank := 0
		for _, c := range cands {
			if c.state == candFailed {
				continue
			}
			if c.state != candAnswered {
				return false
			}
			if c.keyed {
				if rank++; rank >= k {
					return true
				}
			}
		}
		return true
	}
	closestDist := func() *candidate {
		for _, c := range cands {
			if c.keyed && c.state != candFailed {
				return c
			}
		}
		return nil
	}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var err error
loop:
	for {
		for inflight < parallel {
			c := pick()
			if c == nil {
				break
			}
			r := &request{req: wire.DHTRequest{Kind: kind, Target: target}, to: c.node.Addr, ch: ch, done: done}
			if c.keyed {
				key := c.node.Key
				r.expect = &key
			}
			id, timeout, sent, p, serr := n.sendP(r)
			if serr != nil {
				c.state = candFailed
				if serr == ErrClosed {
					err = ErrClosed
					break loop
				}
				continue
			}
			c.state, c.sent, c.timeout, c.p = candInFlight, sent, timeout, p
			byReq[id] = c
			inflight++
			res.stats.requests++
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
			if c == nil || r.rep == nil || c.state == candAnswered {
				continue
			}
			if c.state == candInFlight {
				inflight--
			}
			res.stats.replies++
			before := closestDist()
			c.state = candAnswered
			c.token = r.rep.Token
			if !c.keyed {
				// A bootstrap address answered: now its key is known.
				if other := byKey[r.rep.Responder]; other != nil || r.rep.Responder == n.key {
					if other != nil && other.state != candAnswered {
						if other.state == candInFlight {
							inflight--
						}
						other.state, other.token = candAnswered, r.rep.Token
					}
					c.state = candFailed // a duplicate; do not count it twice
				} else {
					i := slices.Index(cands, c)
					cands = slices.Delete(cands, i, i+1)
					c.keyed, c.node.Key, c.id = true, r.rep.Responder, IDOf(r.rep.Responder)
					byKey[c.node.Key] = c
					j, _ := slices.BinarySearchFunc(cands, c, cmp)
					cands = slices.Insert(cands, j, c)
				}
			}
			for _, nd := range r.rep.Nodes {
				add(nd, true, c.depth+1)
			}
			if res.records != nil {
				n.collect(res.records, verified, Topic(target), r.rep.Records)
			}
			if after := closestDist(); before != nil && after == before {
				// Nothing closer came back: ask all of the k closest at once (Kademlia's
				// final round).
				parallel = k
			}
		case <-timer.C:
			now := time.Now()
			for _, c := range cands {
				if c.state == candInFlight && !now.Before(c.sent.Add(c.timeout)) {
					if c.p.arrived.Load() && now.Before(c.sent.Add(2*c.timeout)) {
						// The reply is here and being checked: grant it one more timeout.
						c.timeout *= 2
						continue
					}
					c.state = candFailed
					inflight--
					res.stats.timeouts++
					n.stats.timeouts.Add(1)
					res.stats.maxWait = max(res.stats.maxWait, now.Sub(c.sent)-c.timeout)
					if c.keyed {
						n.mu.Lock()
						n.tab.failed(c.id, false)
						n.mu.Unlock()
					}
				}
			}
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	for _, c := range cands {
		if c.keyed && c.state == candAnswered {
			res.closest = append(res.closest, c)
			res.stats.hops = max(res.stats.hops, c.depth+1)
			if len(res.closest) == k {
				break
			}
		}
	}
	res.stats.duration = time.Since(start)
	if err == nil && res.stats.replies == 0 {
		err = ErrNoContacts
	}
	return res, err
}

// collect adds the valid records of a reply to recs, keeping the newest per key.
func (n *Node) collect(recs map[wire.PeerKey]wire.DHTRecord, verified map[wire.Signature]bool, topic Topic, in []wire.DHTRecord) {
	now := n.cfg.now().UnixMilli()
	for i := range in {
		r := &in[i]
		if r.Expiry <= now || r.Expiry > now+(MaxRecordTTL+MaxClockSkew).Milliseconds() {
			continue
		}
		if old, ok := recs[r.Key]; ok && old.Expiry >= r.Expiry {
			continue
		}
		ok, seen := verified[r.Sig]
		if !seen {
			ok = wire.VerifyDHTRecord(topic, r) == nil
			verified[r.Sig] = ok
		}
		if ok {
			recs[r.Key] = *r
		}
	}
}

// validContactAddr reports whether a may be contacted: a unicast address and a port.
func validContactAddr(a netip.AddrPort) bool {
	ip := a.Addr()
	return a.IsValid() && a.Port() != 0 && !ip.IsUnspecified() && !ip.IsMulticast() && ip.Zone() == ""
}
