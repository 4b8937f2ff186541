package dht

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Topic names a set of records in the DHT: the SHA-256 of a name (TopicOf) or of a peer key
// (KeyTopic). Records are stored at the k nodes whose ids are closest to the topic.
type Topic [wire.DHTIDSize]byte

// TopicOf returns the topic of a market or other name: SHA-256 of "auction-tui/v1/topic/"+name.
func TopicOf(name string) Topic { return sha256.Sum256([]byte("auction-tui/v1/topic/" + name)) }

// KeyTopic returns the topic under which the peer key announces itself, so that it can be found
// by key alone: SHA-256 of "auction-tui/v1/peer/" followed by the 32 key bytes.
func KeyTopic(key wire.PeerKey) Topic {
	return sha256.Sum256(append([]byte("auction-tui/v1/peer/"), key[:]...))
}

// String returns the topic as 64 hex digits.
func (t Topic) String() string { return hex.EncodeToString(t[:]) }

// Record is a verified, unexpired announcement found by Lookup: the peer Key can be reached at
// Addrs until Expiry.
type Record struct {
	Key    wire.PeerKey
	Addrs  []netip.AddrPort
	Expiry time.Time
}

// store holds the records other peers announced here. Node.mu guards it.
type store struct {
	topics    map[Topic]map[wire.PeerKey]*stored
	perSource map[netip.AddrPort]int
	total     int
}

type stored struct {
	rec    wire.DHTRecord
	source netip.AddrPort
}

func (s *store) init() {
	s.topics = make(map[Topic]map[wire.PeerKey]*stored)
	s.perSource = make(map[netip.AddrPort]int)
}

// sourceOf returns the key records are counted under for MaxRecordsPerSource: the IP address
// (port 0), or the IP and port for loopback sources.
func sourceOf(a netip.AddrPort) netip.AddrPort {
	if a.Addr().IsLoopback() {
		return a
	}
	return netip.AddrPortFrom(a.Addr(), 0)
}

func (s *store) remove(t Topic, m map[wire.PeerKey]*stored, key wire.PeerKey) {
	st := m[key]
	delete(m, key)
	s.total--
	if s.perSource[st.source]--; s.perSource[st.source] <= 0 {
		delete(s.perSource, st.source)
	}
	if len(m) == 0 {
		delete(s.topics, t)
	}
}

// expire drops the records expired at now.
func (s *store) expire(now time.Time) {
	ms := now.UnixMilli()
	for t, m := range s.topics {
		for k, st := range m {
			if st.rec.Expiry <= ms {
				s.remove(t, m, k)
			}
		}
	}
}

// put stores r under t for source, replacing an older record of the same key.
func (s *store) put(t Topic, r wire.DHTRecord, source netip.AddrPort, now time.Time) wire.DHTStatus {
	src := sourceOf(source)
	m := s.topics[t]
	if m != nil {
		if old := m[r.Key]; old != nil {
			if old.rec.Expiry > r.Expiry {
				return wire.DHTOK // a newer record is already here
			}
			s.remove(t, m, r.Key)
			m = s.topics[t]
		}
	}
	if m != nil && len(m) >= MaxRecordsPerTopic || s.perSource[src] >= MaxRecordsPerSource || s.total >= MaxRecords {
		s.expire(now)
		m = s.topics[t]
		if m != nil && len(m) >= MaxRecordsPerTopic || s.perSource[src] >= MaxRecordsPerSource || s.total >= MaxRecords {
			return wire.DHTFull
		}
	}
	if m == nil {
		m = make(map[wire.PeerKey]*stored)
		s.topics[t] = m
	}
	m[r.Key] = &stored{rec: r, source: src}
	s.perSource[src]++
	s.total++
	return wire.DHTOK
}

// get returns unexpired records of t in random order, as many as fit in budget bytes, and the
// budget left.
func (s *store) get(t Topic, now time.Time, budget int) ([]wire.DHTRecord, int) {
	m := s.topics[t]
	if len(m) == 0 {
		return nil, budget
	}
	ms := now.UnixMilli()
	out := make([]wire.DHTRecord, 0, min(len(m), wire.MaxDHTRecords))
	for _, st := range m { // map order is random
		if st.rec.Expiry <= ms {
			continue
		}
		if sz := st.rec.EncodedSize(); sz <= budget && len(out) < wire.MaxDHTRecords {
			out = append(out, st.rec)
			budget -= sz
		}
	}
	return out, budget
}

// announceLocked checks and stores the record of an announce request from source.
func (n *Node) announceLocked(req *wire.DHTRequest, source netip.AddrPort, now time.Time) wire.DHTStatus {
	if req.Token != n.tokenLocked(source, 0) && req.Token != n.tokenLocked(source, 1) {
		return wire.DHTBadToken
	}
	r := &req.Record
	ms := now.UnixMilli()
	if r.Expiry <= ms || r.Expiry > ms+(MaxRecordTTL+MaxClockSkew).Milliseconds() {
		return wire.DHTBadRecord
	}
	if !n.verifyRecord(Topic(req.Target), r) {
		return wire.DHTBadRecord
	}
	if wire.Verify(r.Key, wire.DomainRecord, wire.AnnounceProofMessage(req.ID, req.Token, req.Target, r.Sig), req.Proof) != nil {
		return wire.DHTBadRecord
	}
	for _, a := range r.Addrs {
		if !validContactAddr(a) {
			return wire.DHTBadRecord
		}
	}
	return n.store.put(Topic(req.Target), *r, source, now)
}

// Announce publishes that this node's key can be reached at addrs (1 to wire.MaxDHTRecordAddrs
// addresses) under topic, for the record TTL: it finds the k closest nodes to the topic and
// sends each a record signed under wire.DomainRecord. It succeeds when at least one node stored
// the record, and returns an *AnnounceError otherwise.
func (n *Node) Announce(ctx context.Context, topic Topic, addrs []netip.AddrPort) error {
	_, err := n.announce(ctx, topic, addrs)
	return err
}

// AnnounceSelf announces addrs under KeyTopic(n.Key()), which makes this node findable by
// FindPeer.
func (n *Node) AnnounceSelf(ctx context.Context, addrs []netip.AddrPort) error {
	return n.Announce(ctx, KeyTopic(n.key), addrs)
}

// announce returns the number of nodes that stored the record.
func (n *Node) announce(ctx context.Context, topic Topic, addrs []netip.AddrPort) (int, error) {
	rec := wire.DHTRecord{Expiry: n.cfg.now().Add(n.cfg.recordTTL).UnixMilli(), Addrs: addrs}
	if err := wire.SignDHTRecord(n.priv, topic, &rec); err != nil {
		return 0, fmt.Errorf("dht: announce: %w", err)
	}
	res, err := n.lookup(ctx, wire.DHTFindNode, ID(topic), nil, 0)
	if len(res.closest) == 0 {
		if err == nil {
			err = ErrNoContacts
		}
		return 0, &AnnounceError{LookupErr: err}
	}
	ch := make(chan response, len(res.closest))
	done := make(chan struct{})
	defer close(done)
	statuses := make(map[string]int)
	waiting := 0
	for _, c := range res.closest {
		key := c.node.Key
		r := &request{to: c.node.Addr, expect: &key, ch: ch, done: done, req: wire.DHTRequest{
			Kind: wire.DHTAnnounce, Target: topic, Token: c.token, Record: rec}}
		r.finish = n.signAnnounce
		n.mu.Lock()
		r.timeout = n.timeoutLocked(&c.id)
		n.mu.Unlock()
		r.hard = r.timeout
		if _, _, _, err := n.send(r); err != nil {
			statuses["send error"]++
			continue
		}
		waiting++
	}
	stored := 0
	for ; waiting > 0; waiting-- {
		select {
		case r := <-ch:
			switch {
			case r.rep == nil:
				statuses["timeout"]++
			default:
				statuses[r.rep.Status.String()]++
				if r.rep.Status == wire.DHTOK {
					stored++
				}
			}
		case <-ctx.Done():
			return stored, ctx.Err()
		case <-n.ctx.Done():
			return stored, ErrClosed
		}
	}
	if stored == 0 {
		return 0, &AnnounceError{Tried: len(res.closest), Statuses: statuses}
	}
	return stored, nil
}

// signAnnounce sets the record key's proof of req, once send has chosen the request id.
func (n *Node) signAnnounce(req *wire.DHTRequest) {
	req.Proof = wire.Sign(n.priv, wire.DomainRecord, wire.AnnounceProofMessage(req.ID, req.Token, req.Target, req.Record.Sig))
}

// Lookup returns the verified, unexpired records stored under topic, newest expiry first, one per
// key, gathered from the k closest nodes to the topic. When the lookup deadline or ctx ends first
// it returns the records found so far with the context's error.
func (n *Node) Lookup(ctx context.Context, topic Topic) ([]Record, error) {
	res, err := n.lookup(ctx, wire.DHTGetRecords, ID(topic), nil, RecordQuorum)
	out := make([]Record, 0, len(res.records))
	for _, r := range res.records {
		out = append(out, Record{Key: r.Key, Addrs: r.Addrs, Expiry: time.UnixMilli(r.Expiry)})
	}
	slices.SortFunc(out, func(a, b Record) int { return b.Expiry.Compare(a.Expiry) })
	if len(out) > 0 && err == ErrNoContacts {
		err = nil
	}
	return out, err
}

// FindPeer returns the addresses key announced under KeyTopic(key). It returns ErrNotFound when
// no record of key was found.
func (n *Node) FindPeer(ctx context.Context, key wire.PeerKey) ([]netip.AddrPort, error) {
	recs, err := n.Lookup(ctx, KeyTopic(key))
	for _, r := range recs {
		if r.Key == key {
			return r.Addrs, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return nil, ErrNotFound
}

// Join keeps this node announced under topic until ctx ends or the node closes: it announces
// addrs() at once, again at about half the record TTL (with ±10% jitter), and retries failures
// with backoff from one second up to a quarter of the TTL. An empty addrs() result skips a round.
// The goroutine is owned by the node; Join returns at once.
func (n *Node) Join(ctx context.Context, topic Topic, addrs func() []netip.AddrPort) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(n.ctx, cancel)
		defer stop()
		backoff := time.Second
		for {
			wait := backoff
			if a := addrs(); len(a) > 0 {
				if err := n.Announce(ctx, topic, a); err != nil {
					if ctx.Err() != nil {
						return
					}
					n.log.Debug("dht: join: announce", "topic", topic, "err", err)
					backoff = min(2*backoff, max(time.Second, n.cfg.recordTTL/4))
				} else {
					backoff = time.Second
					half := n.cfg.recordTTL / 2
					wait = half - half/10 + rand.N(half/5+1)
				}
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
}

// verifyRecord reports whether r is signed by r.Key for topic. Market lookups return the same
// records again and again until they are re-announced, so the verdict is remembered, keyed by
// the SHA-256 of everything the check covers (key, signed message and signature): a record that
// differs in any byte from one seen before, including one that reuses another record's
// signature, is checked afresh.
func (n *Node) verifyRecord(topic Topic, r *wire.DHTRecord) bool {
	msg := wire.DHTRecordMessage(topic, r)
	h := sha256.New()
	h.Write(r.Key[:])
	h.Write(r.Sig[:])
	h.Write(msg)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	n.checkedMu.Lock()
	ok, seen := n.checked[sum]
	n.checkedMu.Unlock()
	if seen {
		return ok
	}
	ok = wire.Verify(r.Key, wire.DomainRecord, msg, r.Sig) == nil
	n.checkedMu.Lock()
	if len(n.checked) >= MaxCheckedRecords {
		clear(n.checked)
	}
	n.checked[sum] = ok
	n.checkedMu.Unlock()
	return ok
}
