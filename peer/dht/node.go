package dht

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// evictPingAge is how long the least recently seen node of a full bucket must have been silent
// before a newcomer triggers a ping-before-evict.
const evictPingAge = time.Minute

// maintenanceTick is the period of the maintenance loop.
const maintenanceTick = 5 * time.Second

// observedRing is the number of recent observed-address reports kept.
const observedRing = 16

// Node is a DHT node. It is safe for concurrent use. See the package notes for its lifecycle.
type Node struct {
	cfg  config
	priv ed25519.PrivateKey
	key  wire.PeerKey
	id   ID
	conn PacketConn
	log  *slog.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closeMu sync.Once
	onClose func() error // closes a socket the node owns

	local netip.AddrPort // known local address, if any

	mu        sync.Mutex
	tab       *table
	pending   map[wire.DHTRequestID]*pending
	verifying int
	srtt      time.Duration
	rttvar    time.Duration
	observed  [observedRing]netip.AddrPort
	obsNext   int
	secret    [2][32]byte // current, previous
	saved     []wire.DHTNode
	replies   chan inbound
	bindings  map[wire.PeerKey]netip.AddrPort // verified pairs outside the table, at most MaxBindings
	store     store
	limit     limiter // per-source request rate limit; used by the read loop only

	checkedMu sync.Mutex
	checked   map[[sha256.Size]byte]bool // verdicts of verifyRecord, at most MaxCheckedRecords

	stats struct {
		sent, replies, timeouts, served, dropped, limited atomic.Uint64
	}
}

// pending is a request waiting for its reply.
type pending struct {
	addr      netip.AddrPort
	expect    wire.PeerKey
	hasExpect bool
	sent      time.Time
	ch        chan<- response // nil: nobody waits (verification and evict pings)
	done      <-chan struct{} // closed when the waiter is gone
	timer     *time.Timer     // removes the entry at its hard expiry
	evict     bool            // a ping-before-evict: a timeout removes the node at once
	direct    bool            // a lookup request: the read loop hands the raw reply to ch
	arrived   atomic.Bool     // a datagram with this id arrived and waits to be checked
}

// response is a reply delivered to a waiter: a checked reply (rep), a raw datagram not yet
// checked (raw, for direct requests), or, with both nil, a hard timeout.
type response struct {
	id   wire.DHTRequestID
	rep  *wire.DHTReply
	raw  []byte
	from netip.AddrPort
	rtt  time.Duration
}

// Stats are counters of a node's traffic since New.
type Stats struct {
	Nodes    int    // nodes in the routing table
	Records  int    // records stored for other peers
	Sent     uint64 // requests sent
	Replies  uint64 // valid replies received
	Timeouts uint64 // requests that got no reply in time
	Served   uint64 // requests answered
	Dropped  uint64 // datagrams dropped: malformed, unsolicited or with a bad signature
	Limited  uint64 // requests dropped unanswered by the per-source rate limit
}

// New makes a node with identity priv on conn and starts its goroutines (see the package notes);
// Close stops them. It loads the state file when WithStateFile is given. It does not contact
// anyone: call Bootstrap. It returns an error wrapping ErrInvalidOption for options out of range.
func New(priv ed25519.PrivateKey, conn PacketConn, opts ...Option) (*Node, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key of %d bytes", ErrInvalidOption, len(priv))
	}
	if conn == nil {
		return nil, fmt.Errorf("%w: nil conn", ErrInvalidOption)
	}
	n := &Node{cfg: cfg, priv: priv, key: wire.KeyOf(priv), conn: conn, log: cfg.logger,
		pending: make(map[wire.DHTRequestID]*pending), bindings: make(map[wire.PeerKey]netip.AddrPort),
		checked: make(map[[sha256.Size]byte]bool)}
	n.id = IDOf(n.key)
	n.tab = newTable(n.id, cfg.k, time.Now())
	n.store.init()
	n.limit.init()
	rand.Read(n.secret[0][:])
	rand.Read(n.secret[1][:])
	if cfg.stateFile != "" {
		saved, err := loadState(cfg.stateFile)
		if err != nil && !errors.Is(err, errNoState) {
			n.log.Warn("dht: ignoring state file", "path", cfg.stateFile, "err", err)
		}
		n.saved = saved
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.replies = make(chan inbound, replyQueue)
	n.wg.Add(3)
	go n.readLoop()
	go n.replyLoop()
	go n.maintain()
	return n, nil
}

// Close stops the node's goroutines (including those of Join), waits for them, and saves the
// routing table when a state file is set. It does not close a socket passed to New. It is
// idempotent; later calls return nil.
func (n *Node) Close() error {
	var err error
	n.closeMu.Do(func() {
		n.cancel()
		if n.onClose != nil {
			err = n.onClose()
		}
		n.wg.Wait()
		n.mu.Lock()
		for id, p := range n.pending {
			p.timer.Stop()
			delete(n.pending, id)
		}
		n.mu.Unlock()
		if n.cfg.stateFile != "" {
			err = errors.Join(err, n.saveState())
		}
	})
	return err
}

// Key returns the node's public key.
func (n *Node) Key() wire.PeerKey { return n.key }

// ID returns the node's id, SHA-256 of its key.
func (n *Node) ID() ID { return n.id }

// LocalAddr returns the node's socket address when the node knows it (nodes made by
// ListenBootstrap and StartTestnet).
func (n *Node) LocalAddr() (netip.AddrPort, bool) { return n.local, n.local.IsValid() }

// Size returns the number of nodes in the routing table.
func (n *Node) Size() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.tab.n
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	s := Stats{Nodes: n.tab.n, Records: n.store.total}
	n.mu.Unlock()
	s.Sent = n.stats.sent.Load()
	s.Replies = n.stats.replies.Load()
	s.Timeouts = n.stats.timeouts.Load()
	s.Served = n.stats.served.Load()
	s.Dropped = n.stats.dropped.Load()
	s.Limited = n.stats.limited.Load()
	return s
}

// ObservedAddr returns the address other nodes most often reported seeing this node's requests
// come from, among the last 16 replies, or false before any reply.
func (n *Node) ObservedAddr() (netip.AddrPort, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var best netip.AddrPort
	bestN := 0
	for i := range observedRing {
		// Newest first, so that ties go to the newest.
		a := n.observed[(n.obsNext-1-i+2*observedRing)%observedRing]
		if !a.IsValid() {
			continue
		}
		c := 0
		for _, b := range n.observed {
			if b == a {
				c++
			}
		}
		if c > bestN {
			best, bestN = a, c
		}
	}
	return best, bestN > 0
}

// timeoutLocked returns the request timeout for a node: srtt + 4*rttvar of its own round trips
// when measured, else of all round trips, clamped to [MinRequestTimeout, MaxRequestTimeout].
func (n *Node) timeoutLocked(id *ID) time.Duration {
	srtt, rttvar := n.srtt, n.rttvar
	if id != nil {
		if c := n.tab.get(*id); c != nil && c.srtt > 0 {
			srtt, rttvar = c.srtt, c.rttvar
		}
	}
	if srtt == 0 {
		return InitialRequestTimeout
	}
	return min(max(srtt+4*rttvar, MinRequestTimeout), MaxRequestTimeout)
}

// timeoutFor returns timeoutLocked for the node with id (when keyed) or for any node.
func (n *Node) timeoutFor(keyed bool, id ID) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !keyed {
		return n.timeoutLocked(nil)
	}
	return n.timeoutLocked(&id)
}

func (n *Node) sampleRTTLocked(rtt time.Duration) {
	if n.srtt == 0 {
		n.srtt, n.rttvar = rtt, rtt/2
		return
	}
	d := n.srtt - rtt
	if d < 0 {
		d = -d
	}
	n.rttvar = (3*n.rttvar + d) / 4
	n.srtt = (7*n.srtt + rtt) / 8
}

// token returns the round-trip token for addr under secret i.
func (n *Node) tokenLocked(addr netip.AddrPort, i int) wire.DHTToken {
	h := sha256.New()
	h.Write(n.secret[i][:])
	b, _ := addr.MarshalBinary()
	h.Write(b)
	var t wire.DHTToken
	copy(t[:], h.Sum(nil))
	return t
}

// boundLocked reports whether key proved, by a signed reply, that it answers from addr: such a
// reply authenticates the pair once; later replies from addr that echo a fresh random 128-bit
// request id are accepted without a signature check (an off-path attacker cannot know the id).
// Pairs are remembered while the node is in the routing table or a replacement cache, and in
// a small cache of MaxBindings pairs beyond that.
func (n *Node) boundLocked(key wire.PeerKey, addr netip.AddrPort) bool {
	if a, ok := n.bindings[key]; ok && a == addr {
		return true
	}
	return n.tab.verified(IDOf(key), addr)
}

func (n *Node) bindLocked(key wire.PeerKey, addr netip.AddrPort) {
	if len(n.bindings) >= MaxBindings {
		for k := range n.bindings { // map order is random: evict an arbitrary pair
			delete(n.bindings, k)
			break
		}
	}
	n.bindings[key] = addr
}

// request is what send needs to know about one request.
type request struct {
	req     wire.DHTRequest
	to      netip.AddrPort
	expect  *wire.PeerKey // the key the reply must be signed by, when known
	timeout time.Duration // soft timeout: 0 picks timeoutLocked
	hard    time.Duration // when the pending entry is dropped: 0 picks max(4*timeout, 250ms)
	ch      chan<- response
	done    <-chan struct{}
	evict   bool
	direct  bool                   // hand the raw reply to ch (lookups; see Node.accept)
	finish  func(*wire.DHTRequest) // called once the id is set, to sign what covers it
}

// send sends r.req with a fresh random id and registers it. It returns the id and the soft
// timeout chosen.
func (n *Node) send(r *request) (wire.DHTRequestID, time.Duration, time.Time, error) {
	id, t, sent, _, err := n.sendP(r)
	return id, t, sent, err
}

// sendP is send that also returns the pending entry.
func (n *Node) sendP(r *request) (wire.DHTRequestID, time.Duration, time.Time, *pending, error) {
	var id wire.DHTRequestID
	rand.Read(id[:])
	r.req.ID = id
	if !n.cfg.client {
		r.req.HasSender, r.req.Sender = true, n.key
	}
	if r.finish != nil {
		r.finish(&r.req)
	}
	b, err := wire.AppendDHTRequest(make([]byte, 0, r.req.EncodedSize()), &r.req)
	if err != nil {
		return id, 0, time.Time{}, nil, err
	}
	p := &pending{addr: r.to, ch: r.ch, done: r.done, evict: r.evict, direct: r.direct}
	var eid *ID
	if r.expect != nil {
		p.expect, p.hasExpect = *r.expect, true
		x := IDOf(*r.expect)
		eid = &x
	}
	n.mu.Lock()
	if n.ctx.Err() != nil {
		n.mu.Unlock()
		return id, 0, time.Time{}, nil, ErrClosed
	}
	timeout := r.timeout
	if timeout == 0 {
		timeout = n.timeoutLocked(eid)
	}
	hard := r.hard
	if hard == 0 {
		hard = max(4*timeout, 250*time.Millisecond)
	}
	p.sent = time.Now()
	p.timer = time.AfterFunc(hard, func() { n.expire(id) })
	n.pending[id] = p
	n.mu.Unlock()
	n.stats.sent.Add(1)
	if _, err := n.conn.WriteTo(b, net.UDPAddrFromAddrPort(r.to)); err != nil {
		n.mu.Lock()
		if n.pending[id] == p {
			delete(n.pending, id)
			p.timer.Stop()
		}
		n.mu.Unlock()
		return id, timeout, p.sent, nil, fmt.Errorf("dht: send to %v: %w", r.to, err)
	}
	return id, timeout, p.sent, p, nil
}

// expire drops a pending request at its hard expiry.
func (n *Node) expire(id wire.DHTRequestID) {
	n.mu.Lock()
	p := n.pending[id]
	if p == nil {
		n.mu.Unlock()
		return
	}
	delete(n.pending, id)
	if p.hasExpect {
		// A node is charged a failure only when no reply came before the hard expiry, never
		// at a soft timeout: a slow reply on a loaded host is not a dead node.
		n.tab.failed(IDOf(p.expect), p.evict)
	}
	if p.ch == nil && !p.evict {
		n.verifying--
	}
	n.mu.Unlock()
	if p.ch != nil && !p.direct {
		select {
		case p.ch <- response{id: id, from: p.addr}:
		case <-p.done:
		}
	}
}

// roundTrip sends one request and waits for its reply until its timeout or ctx ends. It returns
// nil, nil on a timeout.
func (n *Node) roundTrip(ctx context.Context, r *request) (*wire.DHTReply, error) {
	ch := make(chan response, 1)
	done := make(chan struct{})
	defer close(done)
	r.ch, r.done = ch, done
	if r.timeout == 0 {
		n.mu.Lock()
		var eid *ID
		if r.expect != nil {
			x := IDOf(*r.expect)
			eid = &x
		}
		r.timeout = n.timeoutLocked(eid)
		n.mu.Unlock()
	}
	r.hard = r.timeout
	if _, _, _, err := n.send(r); err != nil {
		return nil, err
	}
	select {
	case resp := <-ch:
		if resp.rep == nil {
			n.stats.timeouts.Add(1) // expire charged the node with the failure
		}
		return resp.rep, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.ctx.Done():
		return nil, ErrClosed
	}
}

// inbound is a reply datagram waiting for the reply worker.
type inbound struct {
	b     []byte
	from  netip.AddrPort
	learn bool          // a lookup already used this reply: verify it for the routing table only
	rtt   time.Duration // with learn: the measured round trip
}

// replyQueue is the number of replies that may wait for the reply worker.
const replyQueue = 256

// replyLoop checks and delivers replies until Close. Replies are handled apart from the read
// loop, so that checking signatures never delays answering requests.
func (n *Node) replyLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case in := <-n.replies:
			if in.learn {
				n.learn(in)
			} else {
				n.handleReply(in.b, in.from)
			}
		}
	}
}

// readLoop reads datagrams until Close.
func (n *Node) readLoop() {
	defer n.wg.Done()
	buf := make([]byte, wire.MaxDHTDatagram+1)
	var rb replyBufs
	for {
		nb, from, err := n.conn.ReadNonQUICPacket(n.ctx, buf)
		if err != nil {
			if n.ctx.Err() != nil || isClosedErr(err) {
				return
			}
			n.log.Debug("dht: read", "err", err)
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		src, ok := addrPortOf(from)
		kind, okKind := wire.DHTKindOf(buf[:nb])
		if !ok || !okKind || nb > wire.MaxDHTDatagram {
			n.stats.dropped.Add(1)
			continue
		}
		if kind == wire.DHTAnswer {
			if nb < 2+wire.DHTRequestIDSize {
				n.stats.dropped.Add(1)
				continue
			}
			id := wire.DHTRequestID(buf[2 : 2+wire.DHTRequestIDSize])
			n.mu.Lock()
			p := n.pending[id]
			if p != nil && p.addr == src {
				p.arrived.Store(true)
			} else {
				p = nil
			}
			n.mu.Unlock()
			if p != nil && p.direct {
				// A lookup checks its own replies: one hand-off less on its critical path.
				select {
				case p.ch <- response{id: id, raw: append([]byte(nil), buf[:nb]...), from: src, rtt: time.Since(p.sent)}:
				default:
					n.stats.dropped.Add(1)
				}
				continue
			}
			select {
			case n.replies <- inbound{b: append([]byte(nil), buf[:nb]...), from: src}:
			default:
				n.stats.dropped.Add(1) // the reply worker is saturated
			}
		} else if n.limit.allow(src, time.Now()) {
			n.handleRequest(buf[:nb], src, &rb)
		} else {
			n.stats.limited.Add(1)
		}
	}
}

func (n *Node) handleReply(b []byte, from netip.AddrPort) {
	rep, err := wire.DecodeDHTReply(b)
	if err != nil {
		n.stats.dropped.Add(1)
		return
	}
	n.mu.Lock()
	p := n.pending[rep.ID]
	ok := p != nil && p.addr == from && (!p.hasExpect || p.expect == rep.Responder) && rep.Responder != n.key
	known := ok && p.hasExpect && n.boundLocked(rep.Responder, from)
	n.mu.Unlock()
	if !ok || !known && wire.VerifyDHTReply(b, rep) != nil {
		n.stats.dropped.Add(1)
		return
	}
	now := time.Now()
	n.mu.Lock()
	if n.pending[rep.ID] != p {
		n.mu.Unlock()
		return
	}
	delete(n.pending, rep.ID)
	p.timer.Stop()
	if p.ch == nil && !p.evict {
		n.verifying--
	}
	rtt := now.Sub(p.sent)
	n.sampleRTTLocked(rtt)
	if p.evict {
		n.tab.pingDone(IDOf(rep.Responder))
	}
	if !known {
		n.bindLocked(rep.Responder, from)
	}
	lrs := n.tab.seen(rep.Responder, from, rtt, now, evictPingAge)
	n.observed[n.obsNext] = rep.Observed
	n.obsNext = (n.obsNext + 1) % observedRing
	n.mu.Unlock()
	n.stats.replies.Add(1)
	if lrs != nil {
		n.pingEvict(lrs)
	}
	if p.ch != nil {
		select {
		case p.ch <- response{id: rep.ID, rep: rep, from: from, rtt: rtt}:
		case <-p.done:
		}
	}
}

// accept checks the raw reply r to a direct (lookup) request and returns it, or nil when it is
// not a valid reply to a pending request. A reply from a node whose key was asked for is used at
// once: its random request id shows it came from the address asked, and records carry their own
// signatures. Its signature is checked, apart from the lookup, only to let the node into the
// routing table (learn), unless the (key, address) pair is already verified. A reply from an
// address whose key is not known yet (a bootstrap node) is verified here, since it reveals that
// key; so is every reply when inline is set.
func (n *Node) accept(r response, inline bool) *wire.DHTReply {
	rep, err := wire.DecodeDHTReply(r.raw)
	if err != nil {
		n.stats.dropped.Add(1)
		return nil
	}
	n.mu.Lock()
	p := n.pending[rep.ID]
	ok := p != nil && p.addr == r.from && (!p.hasExpect || p.expect == rep.Responder) && rep.Responder != n.key
	known := ok && p.hasExpect && n.boundLocked(rep.Responder, r.from)
	n.mu.Unlock()
	check := ok && !known && (inline || !p.hasExpect)
	if !ok || check && wire.VerifyDHTReply(r.raw, rep) != nil {
		n.stats.dropped.Add(1)
		return nil
	}
	verified := known || check
	n.mu.Lock()
	if n.pending[rep.ID] != p {
		n.mu.Unlock()
		return nil
	}
	delete(n.pending, rep.ID)
	p.timer.Stop()
	n.sampleRTTLocked(r.rtt)
	n.observed[n.obsNext] = rep.Observed
	n.obsNext = (n.obsNext + 1) % observedRing
	var lrs *contact
	if verified {
		if !known {
			n.bindLocked(rep.Responder, r.from)
		}
		lrs = n.tab.seen(rep.Responder, r.from, r.rtt, time.Now(), evictPingAge)
	}
	n.mu.Unlock()
	n.stats.replies.Add(1)
	if lrs != nil {
		n.pingEvict(lrs)
	}
	if !verified {
		select {
		case n.replies <- inbound{b: r.raw, from: r.from, learn: true, rtt: r.rtt}:
		default: // the reply worker is busy: this node does not enter the table now
		}
	}
	return rep
}

// learn verifies a reply a lookup already used and, when it is valid, lets its responder into
// the routing table. It skips the signature check when the table has no use for the node.
func (n *Node) learn(in inbound) {
	rep, err := wire.DecodeDHTReply(in.b)
	if err != nil {
		return
	}
	id := IDOf(rep.Responder)
	n.mu.Lock()
	want := n.tab.wants(id, time.Now(), evictPingAge)
	n.mu.Unlock()
	if !want || wire.VerifyDHTReply(in.b, rep) != nil {
		return
	}
	n.mu.Lock()
	n.bindLocked(rep.Responder, in.from)
	lrs := n.tab.seen(rep.Responder, in.from, in.rtt, time.Now(), evictPingAge)
	n.mu.Unlock()
	if lrs != nil {
		n.pingEvict(lrs)
	}
}

// pingEvict pings the least recently seen node of a full bucket; expire evicts it if it does not
// answer (ping-before-evict).
func (n *Node) pingEvict(lrs *contact) {
	key := lrs.key
	_, _, _, _ = n.send(&request{req: wire.DHTRequest{Kind: wire.DHTPing}, to: lrs.addr, expect: &key, evict: true, hard: MaxRequestTimeout})
}

// forget drops the pending entries of requests nobody waits for any more (a lookup that ended),
// without charging their nodes a failure.
func (n *Node) forget(ids []wire.DHTRequestID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		if p := n.pending[id]; p != nil {
			p.timer.Stop()
			delete(n.pending, id)
		}
	}
}

// replyBufs are the buffers handleRequest reuses from one request to the next (the read loop
// serves requests one at a time): the node list and the encoded reply, which PacketConn.WriteTo
// does not retain. Without them every reply allocated about 3 KiB.
type replyBufs struct {
	nodes []wire.DHTNode
	out   []byte
}

func (n *Node) handleRequest(b []byte, from netip.AddrPort, rb *replyBufs) {
	if n.cfg.client {
		return
	}
	req, err := wire.DecodeDHTRequest(b)
	if err != nil || (req.HasSender && req.Sender == n.key) {
		n.stats.dropped.Add(1)
		return
	}
	rep := &wire.DHTReply{ID: req.ID, Responder: n.key, Observed: from, Nodes: rb.nodes[:0]}
	now := n.cfg.now()
	n.mu.Lock()
	rep.Token = n.tokenLocked(from, 0)
	var nodes []*contact
	if req.Kind == wire.DHTFindNode || req.Kind == wire.DHTGetRecords {
		var excl *ID
		if req.HasSender {
			x := IDOf(req.Sender)
			excl = &x
		}
		nodes = n.tab.closest(ID(req.Target), n.cfg.k, excl)
	}
	if req.Kind == wire.DHTAnnounce {
		rep.Status = n.announceLocked(req, from, now)
	}
	budget := wire.MaxDHTDatagram - rep.EncodedSize()
	if req.Kind == wire.DHTGetRecords {
		rep.Records, budget = n.store.get(Topic(req.Target), now, budget-reservedNodeBytes)
		budget += reservedNodeBytes
	}
	for _, c := range nodes {
		dn := wire.DHTNode{Key: c.key, Addr: c.addr}
		if s := wire.DHTNodeSize(dn); s <= budget {
			rep.Nodes = append(rep.Nodes, dn)
			budget -= s
		}
	}
	verify := false
	if req.HasSender && !n.cfg.client && n.verifying < MaxVerifyPings {
		sid := IDOf(req.Sender)
		if n.tab.get(sid) == nil {
			if bk := n.tab.bucketOf(sid, false); bk == nil || len(bk.nodes) < n.cfg.k {
				verify = true
				n.verifying++
			}
		}
	}
	n.mu.Unlock()
	rb.nodes = rep.Nodes[:0]
	out, err := wire.AppendDHTReply(rb.out[:0], n.priv, rep)
	if err != nil {
		n.log.Error("dht: encode reply", "err", err)
		return
	}
	rb.out = out[:0]
	if _, err := n.conn.WriteTo(out, net.UDPAddrFromAddrPort(from)); err != nil {
		n.log.Debug("dht: write reply", "to", from, "err", err)
	}
	n.stats.served.Add(1)
	if verify {
		sender := req.Sender
		if _, _, _, err := n.send(&request{req: wire.DHTRequest{Kind: wire.DHTPing}, to: from, expect: &sender}); err != nil {
			n.mu.Lock()
			n.verifying--
			n.mu.Unlock()
		}
	}
}

// reservedNodeBytes is the room kept for nodes in a reply that also carries records: eight IPv4
// nodes.
const reservedNodeBytes = 8 * (wire.KeySize + 7)

// maintain runs periodic work until Close: token rotation, bucket refresh, state saving, and
// re-bootstrapping while the table is empty.
func (n *Node) maintain() {
	defer n.wg.Done()
	t := time.NewTicker(maintenanceTick)
	defer t.Stop()
	start := time.Now()
	lastRotate, lastSave, lastRefresh, lastBoot := start, start, start, start
	bootWait := maintenanceTick
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if now.Sub(lastRotate) >= TokenRotation {
			lastRotate = now
			n.mu.Lock()
			n.secret[1] = n.secret[0]
			rand.Read(n.secret[0][:])
			n.mu.Unlock()
		}
		n.mu.Lock()
		n.store.expire(n.cfg.now())
		size := n.tab.n
		n.mu.Unlock()
		if size == 0 && now.Sub(lastBoot) >= bootWait && (len(n.cfg.bootstrap) > 0 || len(n.saved) > 0) {
			lastBoot = now
			if err := n.Bootstrap(n.ctx); err != nil {
				bootWait = min(2*bootWait, 2*time.Minute)
			} else {
				bootWait = maintenanceTick
			}
		}
		if now.Sub(lastRefresh) >= time.Minute {
			lastRefresh = now
			n.refresh(n.ctx)
		}
		if n.cfg.stateFile != "" && now.Sub(lastSave) >= SaveInterval {
			lastSave = now
			if err := n.saveState(); err != nil {
				n.log.Warn("dht: save state", "err", err)
			}
		}
	}
}

// refresh looks up a random id in every stale bucket.
func (n *Node) refresh(ctx context.Context) {
	n.mu.Lock()
	stale := n.tab.stale(time.Now())
	n.mu.Unlock()
	for _, i := range stale {
		var rnd [32]byte
		rand.Read(rnd[:])
		target := randomIDInBucket(n.id, i, rnd[:])
		if _, err := n.lookup(ctx, wire.DHTFindNode, target, nil, 0); err != nil && ctx.Err() != nil {
			return
		}
	}
}

// Bootstrap joins the network: a lookup of the node's own id, starting from the nodes saved in
// the state file and the bootstrap addresses. It returns ErrBootstrap when none of them
// answered, or ctx's error.
func (n *Node) Bootstrap(ctx context.Context) error {
	var seeds []seed
	for _, s := range n.saved {
		seeds = append(seeds, seed{addr: s.Addr, key: s.Key, keyed: true})
	}
	for _, a := range n.cfg.bootstrap {
		seeds = append(seeds, seed{addr: a})
	}
	res, err := n.lookup(ctx, wire.DHTFindNode, n.id, seeds, 0)
	if res != nil && res.stats.replies > 0 {
		return nil
	}
	if err != nil && !errors.Is(err, ErrNoContacts) {
		return err
	}
	return ErrBootstrap
}
