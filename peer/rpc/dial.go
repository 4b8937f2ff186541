package rpc

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/auction-tui/auction-tui/wire"
)

// A dial sent into a partition is silent after the partition heals until QUIC resends its
// Initial packet: quic-go's client resends it on a probe timeout that starts from a guessed
// 100 ms round trip (about 300 ms) and doubles each time (300 ms, 900 ms, 2.1 s, ... after the
// first send), and it has no setting for that guess. A peer that restarted while cut off would so
// wait up to a second or more after the heal for connections that one round trip could make. With
// a probe (WithProbe: the engine pings the address over the DHT, which shares the socket and
// answers at once) a dial that has waited DialProbeEvery probes its address every DialProbeEvery;
// once a probe is answered after an earlier one was not, the path was cut during the dial and is
// open again, so the handshake starts over at once with a fresh Initial. A handshake that is only
// slow (a loaded peer) answers its probes throughout and is never started over.

// Reachability probes of a slow dial (WithProbe).
const (
	// DialProbeEvery is how long a dial waits before it probes its address, and the period of
	// the probes while it keeps waiting.
	DialProbeEvery = 100 * time.Millisecond
	// dialProbeTimeout bounds one probe; probes overlap when it is above DialProbeEvery.
	dialProbeTimeout = 250 * time.Millisecond
	// MaxDialRestarts is the most times one dial starts its handshake over.
	MaxDialRestarts = 3
)

// Probe reports whether addr answers now: nil when it answered within ctx. It must honour ctx.
type Probe func(ctx context.Context, addr netip.AddrPort) error

// handshake makes one QUIC connection to key at addr (TLS pinned to key) within ctx. It returns
// a *KeyMismatchError when the address answers with another key.
func (e *Endpoint) handshake(ctx context.Context, key wire.PeerKey, addr netip.AddrPort) (*quic.Conn, error) {
	var mismatch atomic.Pointer[KeyMismatchError]
	qc, err := e.tr.Dial(ctx, net.UDPAddrFromAddrPort(addr), e.clientTLS(key, &mismatch), e.qconf)
	if m := mismatch.Load(); m != nil {
		if qc != nil {
			_ = qc.CloseWithError(closeProtocol, "key mismatch")
		}
		return nil, m
	}
	return qc, err
}

// probedDial is handshake with reachability probes: while the handshake waits it probes addr,
// and when a probe is answered after an earlier one was not it cancels the handshake and starts a
// new one (at most MaxDialRestarts times). Only the newest handshake may win: a superseded one
// that completes anyway is closed. The peer's duplicate rule keeps the newer of two connections
// dialed by one side, which is the newest one here too. Every goroutine it starts has ended when
// it returns.
func (e *Endpoint) probedDial(ctx context.Context, key wire.PeerKey, addr netip.AddrPort) (*quic.Conn, error) {
	type attempt struct {
		n   int
		qc  *quic.Conn
		err error
	}
	type probed struct {
		sent time.Time
		err  error
	}
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	results := make(chan attempt, MaxDialRestarts+1) // one per handshake: sends never block
	probes := make(chan probed)
	var cancels []context.CancelFunc
	begin := func() {
		actx, cancel := context.WithCancel(pctx)
		n := len(cancels)
		cancels = append(cancels, cancel)
		wg.Add(1)
		go func() {
			defer wg.Done()
			qc, err := e.handshake(actx, key, addr)
			results <- attempt{n, qc, err}
		}()
	}
	defer func() {
		stop()
		wg.Wait()
		close(results)
		for r := range results { // superseded handshakes that completed after all
			if r.qc != nil {
				_ = r.qc.CloseWithError(closeDuplicate, "dial started over")
			}
		}
	}()

	begin()
	tick := time.NewTicker(DialProbeEvery)
	defer tick.Stop()
	began := time.Now()
	var failed, answered time.Time // send times: earliest unanswered probe, latest answered one
	for {
		select {
		case r := <-results:
			if r.n != len(cancels)-1 {
				if r.qc != nil {
					_ = r.qc.CloseWithError(closeDuplicate, "dial started over")
				}
				continue
			}
			return r.qc, r.err
		case now := <-tick.C:
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, cancel := context.WithTimeout(pctx, dialProbeTimeout)
				err := e.cfg.probe(c, addr)
				cancel()
				select {
				case probes <- probed{now, err}:
				case <-pctx.Done():
				}
			}()
		case p := <-probes:
			if p.sent.Before(began) {
				continue // a probe of the path as it was before the handshake started over
			}
			if p.err != nil {
				if failed.IsZero() || p.sent.Before(failed) {
					failed = p.sent
				}
			} else if p.sent.After(answered) {
				answered = p.sent
			}
			if failed.IsZero() || !answered.After(failed) || len(cancels) > MaxDialRestarts {
				continue
			}
			cancels[len(cancels)-1]()
			begin()
			began, failed, answered = time.Now(), time.Time{}, time.Time{}
			e.dialRestarts.Add(1)
			e.cfg.logger.Debug("rpc dial started over: the path came back", "peer", key.Short(), "addr", addr,
				"restart", len(cancels)-1)
		}
	}
}
