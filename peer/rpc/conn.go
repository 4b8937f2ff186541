package rpc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/auction-tui/auction-tui/wire"
)

// Application error codes used when closing a connection.
const (
	closeNormal    quic.ApplicationErrorCode = 0 // Disconnect or Close
	closeDuplicate quic.ApplicationErrorCode = 1 // the losing one of two connections between a pair
	closeProtocol  quic.ApplicationErrorCode = 2 // the peer broke the protocol
)

// Stream error codes used when cancelling one side of a stream.
const (
	streamCancelled quic.StreamErrorCode = 1 // the caller gave up (context ended)
	streamRefused   quic.StreamErrorCode = 2 // the responder will not read this request
)

// peerConn is one QUIC connection to a peer.
type peerConn struct {
	key       wire.PeerKey
	qc        *quic.Conn
	remote    netip.AddrPort
	initiator wire.PeerKey // the key of the side that dialed it
	seq       uint64       // creation order on this endpoint
	instance  [32]byte     // SHA-256 of the peer's certificate: one per run of the peer's endpoint
	caller    *caller      // rate limit and refusal log, shared by the peer's connections

	slots  chan struct{} // handler slots for the peer's calls
	active atomic.Int64  // streams in use, both directions
	bytes  atomic.Int64  // request bytes buffered for the peer's calls
	lost   atomic.Bool   // a duplicate that lost: closed once idle

	credMu  sync.Mutex
	credits []*quic.Stream // finished request streams whose QUIC credit is not yet released

	parkMu    sync.Mutex
	parked    []creditHolder // streams refused by the rate limit whose credit is held (park.go)
	releasing bool           // a releaseParked goroutine runs for this connection
}

// deferCredit queues the stream credit of a finished request stream, to be released with the next
// answer written on the connection: the MAX_STREAMS frame then rides in the answer's packet
// instead of costing a packet of its own (and an immediate acknowledgement from the peer). At
// most maxStreams credits wait; more are released at once.
func (pc *peerConn) deferCredit(s *quic.Stream, limit int) {
	pc.credMu.Lock()
	pc.credits = append(pc.credits, s)
	var now []*quic.Stream
	if len(pc.credits) >= limit {
		now, pc.credits = pc.credits, nil
	}
	pc.credMu.Unlock()
	for _, s := range now {
		s.ReleaseStreamCredit()
	}
}

// releaseCredits releases every queued stream credit.
func (pc *peerConn) releaseCredits() {
	pc.credMu.Lock()
	now := pc.credits
	pc.credits = nil
	pc.credMu.Unlock()
	for _, s := range now {
		s.ReleaseStreamCredit()
	}
}

// dialCall is a dial in progress shared by every caller that needs the peer meanwhile.
type dialCall struct {
	done chan struct{}
	pc   *peerConn
	err  error
}

// Connect adds addr to peer's addresses and makes sure a connection to peer is up, dialing it if
// needed. It returns a *KeyMismatchError when the address answers with another key.
func (e *Endpoint) Connect(ctx context.Context, peer wire.PeerKey, addr netip.AddrPort) error {
	e.AddAddr(peer, addr)
	_, err := e.getConn(ctx, peer)
	return err
}

// getConn returns the connection in use to key, dialing it if there is none; the wait ends with
// ctx (whose deadline applies, or the default request timeout when it has none).
func (e *Endpoint) getConn(ctx context.Context, key wire.PeerKey) (*peerConn, error) {
	return e.getConnBy(ctx, e.deadline(ctx), key)
}

// getConnBy is getConn with an explicit deadline for the wait.
func (e *Endpoint) getConnBy(ctx context.Context, deadline time.Time, key wire.PeerKey) (*peerConn, error) {
	if key == e.key {
		return nil, ErrSelf
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, closedErr("endpoint closed", net.ErrClosed)
	}
	if pc := e.peers[key]; pc != nil && pc.qc.Context().Err() == nil {
		e.mu.Unlock()
		return pc, nil
	}
	d := e.dials[key]
	if d == nil {
		d = &dialCall{done: make(chan struct{})}
		e.dials[key] = d
		e.wg.Add(1)
		go e.runDial(key, d)
	}
	e.mu.Unlock()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-d.done:
		return d.pc, d.err
	case <-ctx.Done():
		return nil, ctxError(ctx, "dial")
	case <-timer.C:
		return nil, &Error{Code: CodeTimeout, Message: "dial", err: context.DeadlineExceeded}
	}
}

// runDial dials key on the endpoint's behalf (so that one caller giving up does not fail the
// others) and publishes the result in d.
func (e *Endpoint) runDial(key wire.PeerKey, d *dialCall) {
	defer e.wg.Done()
	d.pc, d.err = e.dial(key)
	e.mu.Lock()
	delete(e.dials, key)
	e.mu.Unlock()
	close(d.done)
}

func (e *Endpoint) dial(key wire.PeerKey) (*peerConn, error) {
	e.mu.Lock()
	addrs := append([]netip.AddrPort(nil), e.addrs[key]...)
	e.mu.Unlock()
	if len(addrs) == 0 && e.cfg.resolver != nil {
		ctx, cancel := context.WithTimeout(e.ctx, e.cfg.dialTimeout)
		found, err := e.cfg.resolver(ctx, key)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("rpc: resolve %s: %w", key.Short(), err)
		}
		for i := len(found) - 1; i >= 0; i-- {
			e.AddAddr(key, found[i])
		}
		e.mu.Lock()
		addrs = append([]netip.AddrPort(nil), e.addrs[key]...)
		e.mu.Unlock()
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("rpc: dial %s: %w", key.Short(), ErrNoAddress)
	}
	var errs []error
	for _, a := range addrs {
		qc, err := e.dialAddr(key, a)
		if err != nil {
			var km *KeyMismatchError
			if errors.As(err, &km) {
				return nil, err // a wrong key is an answer, not an unreachable address
			}
			errs = append(errs, err)
			if e.ctx.Err() != nil {
				break
			}
			continue
		}
		return e.addConn(qc, key, e.key, a)
	}
	return nil, fmt.Errorf("rpc: dial %s: %w", key.Short(), errors.Join(errs...))
}

// dialAddr dials key at addr within the dial timeout: one handshake, or, with a probe
// (WithProbe), a handshake started over when the path to addr comes back (dial.go).
func (e *Endpoint) dialAddr(key wire.PeerKey, addr netip.AddrPort) (*quic.Conn, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.dialTimeout)
	defer cancel()
	var qc *quic.Conn
	var err error
	if e.cfg.probe == nil {
		qc, err = e.handshake(ctx, key, addr)
	} else {
		qc, err = e.probedDial(ctx, key, addr)
	}
	var km *KeyMismatchError
	if errors.As(err, &km) {
		return nil, err
	}
	if err != nil {
		if e.ctx.Err() != nil {
			return nil, closedErr("endpoint closed", err)
		}
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return qc, nil
}

// addConn registers a new connection and starts serving it. Of two connections to one peer it
// keeps the one dialed by the smaller key (among those, the newer) and drains the other. It
// returns the connection in use after the decision.
func (e *Endpoint) addConn(qc *quic.Conn, key, initiator wire.PeerKey, remote netip.AddrPort) (*peerConn, error) {
	pc := &peerConn{
		key:       key,
		qc:        qc,
		remote:    remote,
		initiator: initiator,
		instance:  peerInstance(qc),
		slots:     make(chan struct{}, e.cfg.maxStreams),
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		_ = qc.CloseWithError(closeNormal, "endpoint closed")
		return nil, closedErr("endpoint closed", net.ErrClosed)
	}
	e.seq++
	pc.seq = e.seq
	pc.caller = e.acquireCaller(key)
	e.conns[pc] = struct{}{}
	e.wg.Add(2)
	go e.serveBidi(pc)
	go e.serveUni(pc)
	old := e.peers[key]
	var loser, stale *peerConn
	switch {
	case old == nil || old.qc.Context().Err() != nil:
		e.peers[key] = pc
		if old == nil {
			e.queueEvent(peerEvent{key: key, connect: true, addr: remote})
		}
	case old.instance != pc.instance:
		// The peer restarted (a new run of its endpoint presents a new certificate): the old
		// connection is dead at its end, whichever the duplicate rule would keep. Keeping it
		// would send every call into a connection that only a stateless reset, after QUIC's
		// backed-off probe, ever ends. The callback sees the peer go and come back, so that
		// the caller resynchronises with the new run.
		e.peers[key] = pc
		stale = old
		e.queueEvent(peerEvent{key: key, err: ErrRestarted})
		e.queueEvent(peerEvent{key: key, connect: true, addr: remote})
	case e.better(pc, old):
		e.peers[key] = pc
		loser = old
	default:
		loser = pc
	}
	if loser != nil {
		loser.lost.Store(true)
		e.wg.Add(1)
		go e.drain(loser)
	}
	winner := e.peers[key]
	e.mu.Unlock()
	if stale != nil {
		// Closed as a duplicate, so that a call caught on it is retried on the new connection.
		_ = stale.qc.CloseWithError(closeDuplicate, "peer restarted")
	}
	e.cfg.logger.Debug("rpc connection up", "peer", key.Short(), "remote", remote,
		"dialed", initiator == e.key, "duplicate", loser != nil)
	return winner, nil
}

// peerInstance identifies the run of the peer's endpoint that qc talks to: the SHA-256 of the
// certificate it presented, which every Endpoint makes afresh with a random serial (selfCert).
func peerInstance(qc *quic.Conn) [32]byte {
	certs := qc.ConnectionState().TLS.PeerCertificates
	if len(certs) == 0 {
		return [32]byte{}
	}
	return sha256.Sum256(certs[0].Raw)
}

// better reports whether a should be kept over b. Both ends reach the same decision: the
// connection dialed by the smaller key wins; between two dialed by the same side, the newer wins
// (the dialer only dials again once it gave up the older one).
func (e *Endpoint) better(a, b *peerConn) bool {
	win := e.key
	if bytes.Compare(a.key[:], e.key[:]) < 0 {
		win = a.key
	}
	aw, bw := a.initiator == win, b.initiator == win
	if aw != bw {
		return aw
	}
	return a.seq > b.seq
}

// drain closes a losing duplicate once no stream has used it for a grace period (a few RTTs), or
// after the request timeout at the latest, so that calls already on it finish.
func (e *Endpoint) drain(pc *peerConn) {
	defer e.wg.Done()
	grace := max(drainGrace, 4*pc.qc.ConnectionStats().SmoothedRTT)
	deadline := time.Now().Add(e.cfg.requestTimeout + grace)
	tick := time.NewTicker(grace / 4)
	defer tick.Stop()
	var idleSince time.Time
	for {
		select {
		case <-pc.qc.Context().Done():
			return
		case <-e.ctx.Done():
			return
		case now := <-tick.C:
			if pc.active.Load() != 0 {
				idleSince = time.Time{}
			} else if idleSince.IsZero() {
				idleSince = now
			}
			if (!idleSince.IsZero() && now.Sub(idleSince) >= grace) || now.After(deadline) {
				_ = pc.qc.CloseWithError(closeDuplicate, "duplicate connection")
				return
			}
		}
	}
}

// connGone unregisters a closed connection.
func (e *Endpoint) connGone(pc *peerConn, err error) {
	e.mu.Lock()
	delete(e.conns, pc)
	if e.peers[pc.key] == pc {
		delete(e.peers, pc.key)
		e.queueEvent(peerEvent{key: pc.key, err: err})
	}
	e.mu.Unlock()
	e.releaseCaller(pc.caller)
	e.cfg.logger.Debug("rpc connection down", "peer", pc.key.Short(), "err", err)
}

// forget drops pc from use if its connection is dead, so the next call dials again.
func (e *Endpoint) forget(pc *peerConn) {
	if pc.qc.Context().Err() == nil {
		return
	}
	e.mu.Lock()
	if e.peers[pc.key] == pc {
		delete(e.peers, pc.key)
		e.queueEvent(peerEvent{key: pc.key, err: context.Cause(pc.qc.Context())})
	}
	e.mu.Unlock()
}

// serveBidi accepts the peer's request streams until the connection closes. Each request takes a
// token from its caller's rate limit and a handler slot; without either it is answered
// CodeOverloaded at once, before anything of it is read. The stream credit of a request refused by
// the rate limit is parked until the caller's bucket refills (park.go), so that a flooding caller
// blocks on opening streams instead of looping on refusals.
func (e *Endpoint) serveBidi(pc *peerConn) {
	defer e.wg.Done()
	for {
		s, err := pc.qc.AcceptStream(context.Background())
		if err != nil {
			e.connGone(pc, connErr(err))
			return
		}
		now := time.Now()
		if !e.admit(pc.caller, now) {
			e.refuse(s, wire.StatusOverloaded, msgRateLimited)
			e.parkCredit(pc, s)
			continue
		}
		select {
		case pc.slots <- struct{}{}:
			pc.active.Add(1)
			e.wg.Add(1)
			go e.serveStream(pc, s)
		default:
			e.refused(pc.caller, refusedOverload, now, "", msgTooManyCalls)
			e.refuse(s, wire.StatusOverloaded, msgTooManyCalls)
			s.ReleaseStreamCredit()
		}
	}
}

// serveUni accepts the peer's event streams until the connection closes; events beyond the
// handler slots are dropped.
func (e *Endpoint) serveUni(pc *peerConn) {
	defer e.wg.Done()
	for {
		s, err := pc.qc.AcceptUniStream(context.Background())
		if err != nil {
			return
		}
		now := time.Now()
		if !e.admit(pc.caller, now) {
			s.CancelRead(streamRefused)
			e.parkCredit(pc, s)
			continue
		}
		select {
		case pc.slots <- struct{}{}:
			pc.active.Add(1)
			e.wg.Add(1)
			go e.serveEvent(pc, s)
		default:
			s.CancelRead(streamRefused)
			s.ReleaseStreamCredit()
			e.refused(pc.caller, refusedOverload, now, "", "event dropped: "+msgTooManyCalls)
		}
	}
}

// Answers to refused calls.
const (
	msgRateLimited  = "request rate limit exceeded"
	msgTooManyCalls = "too many calls in flight"
)

// connErr strips a local normal close to nil, for OnDisconnect.
func connErr(err error) error {
	if ae, ok := errors.AsType[*quic.ApplicationError](err); ok && !ae.Remote && ae.ErrorCode == closeNormal {
		return nil
	}
	return err
}
