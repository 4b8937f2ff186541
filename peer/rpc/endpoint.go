package rpc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/auction-tui/auction-tui/wire"
)

// Request is an incoming call as a Handler sees it.
type Request struct {
	Caller  wire.PeerKey   // the caller's key, proven by the TLS handshake
	Remote  netip.AddrPort // the address the caller's connection comes from
	Method  string         // the method name
	Payload []byte         // the request payload; the handler may keep it
}

// Handler answers one method. Its context ends when the caller gives up, the connection closes or
// the responder's request timeout passes. It returns the response payload (at most the
// endpoint's max message size), or Reject(reason) to reject the request with a reason the caller
// sees, or an *Error to answer with that code; any other error answers CodeInternal (its text is
// logged, not sent). For an Event the result is discarded.
type Handler func(ctx context.Context, req *Request) ([]byte, error)

// Endpoint is one peer's RPC node: one UDP socket, one QUIC transport, and at most one
// connection per remote peer. Its methods are safe for concurrent use.
type Endpoint struct {
	cfg   config
	key   wire.PeerKey
	cert  tls.Certificate
	addr  netip.AddrPort
	udp   *net.UDPConn
	tr    *quic.Transport
	ln    *quic.Listener
	qconf *quic.Config

	ctx    context.Context // ends at Close; parent of dials and drains
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine but the event deliverer

	hmu      sync.RWMutex
	handlers map[string]Handler

	mu     sync.Mutex
	closed bool
	seq    uint64
	peers  map[wire.PeerKey]*peerConn // the one connection in use per peer
	conns  map[*peerConn]struct{}     // every live connection, duplicates included
	dials  map[wire.PeerKey]*dialCall
	addrs  map[wire.PeerKey][]netip.AddrPort
	// callers holds the rate limit and refusal log of each peer with a live connection.
	callers map[wire.PeerKey]*caller

	stats        endpointStats // refusal counters, see Stats
	dialRestarts atomic.Uint64 // handshakes started over by probedDial

	cbMu         sync.Mutex
	onConnect    func(wire.PeerKey, netip.AddrPort)
	onDisconnect func(wire.PeerKey, error)

	evMu     sync.Mutex
	evQueue  []peerEvent
	evSignal chan struct{}
	evStop   chan struct{}
	evDone   chan struct{}

	closeOnce sync.Once
}

type peerEvent struct {
	key     wire.PeerKey
	connect bool
	addr    netip.AddrPort
	err     error
}

// Listen opens an endpoint on the UDP address addr (for example "127.0.0.1:0") with identity
// priv. It starts accepting connections at once; register handlers with Respond before peers
// call. ctx bounds only the setup; the endpoint lives until Close, which releases everything.
func Listen(ctx context.Context, addr string, priv ed25519.PrivateKey, opts ...Option) (*Endpoint, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("rpc: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("rpc: resolve %q: %w", addr, err)
	}
	cert, err := selfCert(priv)
	if err != nil {
		return nil, fmt.Errorf("rpc: certificate: %w", err)
	}
	resetKey, err := statelessResetKey(priv)
	if err != nil {
		return nil, fmt.Errorf("rpc: stateless reset key: %w", err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("rpc: listen %s: %w", addr, err)
	}
	e := &Endpoint{
		cfg:      cfg,
		key:      wire.KeyOf(priv),
		cert:     cert,
		addr:     udp.LocalAddr().(*net.UDPAddr).AddrPort(),
		udp:      udp,
		handlers: make(map[string]Handler),
		peers:    make(map[wire.PeerKey]*peerConn),
		conns:    make(map[*peerConn]struct{}),
		dials:    make(map[wire.PeerKey]*dialCall),
		addrs:    make(map[wire.PeerKey][]netip.AddrPort),
		callers:  make(map[wire.PeerKey]*caller),
		evSignal: make(chan struct{}, 1),
		evStop:   make(chan struct{}),
		evDone:   make(chan struct{}),
	}
	e.addr = netip.AddrPortFrom(e.addr.Addr().Unmap(), e.addr.Port())
	e.qconf = &quic.Config{
		HandshakeIdleTimeout:       min(5*time.Second, cfg.dialTimeout),
		MaxIdleTimeout:             cfg.idleTimeout,
		KeepAlivePeriod:            cfg.keepAlive,
		MaxIncomingStreams:         int64(streamCredit*cfg.maxStreams + overloadSlack),
		MaxIncomingUniStreams:      int64(streamCredit*cfg.maxStreams + overloadSlack),
		MaxStreamReceiveWindow:     uint64(max(wire.RPCRequestBodyMax(cfg.maxMessage)+wire.RPCLenSize, 512<<10)),
		MaxConnectionReceiveWindow: uint64(max(cfg.maxPeerBytes, 1<<20)),
		Allow0RTT:                  false, // bids must not be replayable
		RequireStreamCreditRelease: true,  // see peerConn.deferCredit
	}
	var pconn net.PacketConn = udp
	if cfg.wrapConn != nil {
		pconn = cfg.wrapConn(udp)
	}
	e.tr = &quic.Transport{Conn: pconn, StatelessResetKey: resetKey}
	// Initialise the non-QUIC packet queue now: quic-go creates it lazily and unsynchronised on
	// the first ReadNonQUICPacket call.
	done, cancelInit := context.WithCancel(context.Background())
	cancelInit()
	_, _, _ = e.tr.ReadNonQUICPacket(done, nil)
	e.ln, err = e.tr.Listen(e.serverTLS(), e.qconf)
	if err != nil {
		_ = e.tr.Close()
		_ = udp.Close()
		return nil, fmt.Errorf("rpc: quic listen: %w", err)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	go e.runEvents()
	e.wg.Add(1)
	go e.acceptLoop()
	cfg.logger.Debug("rpc endpoint listening", "addr", e.addr, "key", e.key.Short())
	return e, nil
}

// Key returns this endpoint's peer key.
func (e *Endpoint) Key() wire.PeerKey { return e.key }

// Addr returns the UDP address the endpoint is bound to (the actual port when ":0" was asked).
func (e *Endpoint) Addr() netip.AddrPort { return e.addr }

// AddAddr records addr as the most recent address of key in the address book (at most
// MaxAddrsPerPeer per key). Dials try addresses most recent first.
func (e *Endpoint) AddAddr(key wire.PeerKey, addr netip.AddrPort) {
	if !addr.IsValid() {
		return
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.addrs[key]
	l = slices.DeleteFunc(l, func(a netip.AddrPort) bool { return a == addr })
	l = slices.Insert(l, 0, addr)
	if len(l) > MaxAddrsPerPeer {
		l = l[:MaxAddrsPerPeer]
	}
	e.addrs[key] = l
}

// Respond registers h for method, replacing any previous handler. Method names are 1 to
// wire.MaxRPCMethodLen bytes of ASCII letters, digits and "._-/:"; Respond panics on an invalid
// name, which is a programming error.
func (e *Endpoint) Respond(method string, h Handler) {
	if !wire.ValidRPCMethod(method) {
		panic(fmt.Sprintf("rpc: invalid method name %q", method))
	}
	e.hmu.Lock()
	e.handlers[method] = h
	e.hmu.Unlock()
}

// OnConnect sets the function called when a peer becomes connected (with the connection's remote
// address). OnDisconnect sets the function called when it stops being connected; err is nil after
// a local Disconnect or Close, otherwise the QUIC error that ended the connection (for example a
// *quic.IdleTimeoutError). Set both before the first connection: a change applies only to later
// events. The callbacks run one at a time, in order, on a goroutine of the endpoint; they must not
// block for long and must not call Close.
func (e *Endpoint) OnConnect(f func(wire.PeerKey, netip.AddrPort)) {
	e.cbMu.Lock()
	e.onConnect = f
	e.cbMu.Unlock()
}

// OnDisconnect sets the disconnect callback; see OnConnect.
func (e *Endpoint) OnDisconnect(f func(wire.PeerKey, error)) {
	e.cbMu.Lock()
	e.onDisconnect = f
	e.cbMu.Unlock()
}

// Connected reports whether a connection to peer is up.
func (e *Endpoint) Connected(peer wire.PeerKey) bool {
	e.mu.Lock()
	pc := e.peers[peer]
	e.mu.Unlock()
	return pc != nil && pc.qc.Context().Err() == nil
}

// RTT returns the smoothed round-trip time to peer, or 0 when not connected.
func (e *Endpoint) RTT(peer wire.PeerKey) time.Duration {
	e.mu.Lock()
	pc := e.peers[peer]
	e.mu.Unlock()
	if pc == nil {
		return 0
	}
	return pc.qc.ConnectionStats().SmoothedRTT
}

// Peers returns the keys of the connected peers, sorted bytewise.
func (e *Endpoint) Peers() []wire.PeerKey {
	e.mu.Lock()
	out := make([]wire.PeerKey, 0, len(e.peers))
	for k := range e.peers {
		out = append(out, k)
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b wire.PeerKey) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// Disconnect closes the connection to peer, if any, failing its calls in flight with CodeClosed.
// OnDisconnect is called with a nil error.
func (e *Endpoint) Disconnect(peer wire.PeerKey) {
	e.mu.Lock()
	pc := e.peers[peer]
	if pc != nil {
		delete(e.peers, peer)
		e.queueEvent(peerEvent{key: peer})
	}
	e.mu.Unlock()
	if pc != nil {
		_ = pc.qc.CloseWithError(closeNormal, "disconnect")
	}
}

// ReadNonQUICPacket reads the next datagram received on the endpoint's socket that is not QUIC
// (its first byte below 0x40), copying it into b. quic-go queues at most 32 such datagrams and
// drops more while nobody reads. It returns net.ErrClosed after Close.
func (e *Endpoint) ReadNonQUICPacket(ctx context.Context, b []byte) (int, net.Addr, error) {
	n, addr, err := e.tr.ReadNonQUICPacket(ctx, b)
	if err != nil && ctx.Err() == nil {
		return 0, nil, net.ErrClosed
	}
	return n, addr, err
}

// WriteTo sends the datagram b to addr from the endpoint's socket. b[0] must be below 0x40 so that
// the receiving endpoint passes it to ReadNonQUICPacket (ErrNotNonQUIC otherwise).
func (e *Endpoint) WriteTo(b []byte, addr net.Addr) (int, error) {
	if len(b) == 0 || b[0] >= 0x40 {
		return 0, ErrNotNonQUIC
	}
	return e.tr.WriteTo(b, addr)
}

// Close closes every connection (in-flight calls fail with CodeClosed), stops accepting, waits
// for every goroutine of the endpoint, handlers included, and releases the socket. OnDisconnect is
// called (with a nil error) for each peer that was connected, before Close returns. Handlers
// must honour their context, or Close waits for them. Close is idempotent.
func (e *Endpoint) Close() error {
	var err error
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		for k := range e.peers {
			e.queueEvent(peerEvent{key: k})
		}
		clear(e.peers)
		conns := make([]*peerConn, 0, len(e.conns))
		for pc := range e.conns {
			conns = append(conns, pc)
		}
		e.mu.Unlock()
		e.cancel()
		_ = e.ln.Close()
		var cwg sync.WaitGroup
		for _, pc := range conns {
			cwg.Go(func() { _ = pc.qc.CloseWithError(closeNormal, "endpoint closed") })
		}
		cwg.Wait()
		e.wg.Wait()
		err = e.tr.Close()
		close(e.evStop)
		<-e.evDone
		if cerr := e.udp.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// queueEvent queues a connect or disconnect event for the callback goroutine.
func (e *Endpoint) queueEvent(ev peerEvent) {
	e.evMu.Lock()
	e.evQueue = append(e.evQueue, ev)
	e.evMu.Unlock()
	select {
	case e.evSignal <- struct{}{}:
	default:
	}
}

// runEvents delivers connect and disconnect events in order until Close.
func (e *Endpoint) runEvents() {
	defer close(e.evDone)
	for {
		stop := false
		select {
		case <-e.evSignal:
		case <-e.evStop:
			stop = true
		}
		for {
			e.evMu.Lock()
			q := e.evQueue
			e.evQueue = nil
			e.evMu.Unlock()
			if len(q) == 0 {
				break
			}
			e.cbMu.Lock()
			onC, onD := e.onConnect, e.onDisconnect
			e.cbMu.Unlock()
			for _, ev := range q {
				switch {
				case ev.connect && onC != nil:
					onC(ev.key, ev.addr)
				case !ev.connect && onD != nil:
					onD(ev.key, ev.err)
				}
			}
		}
		if stop {
			return
		}
	}
}

// acceptLoop accepts incoming connections until Close.
func (e *Endpoint) acceptLoop() {
	defer e.wg.Done()
	for {
		qc, err := e.ln.Accept(e.ctx)
		if err != nil {
			if e.ctx.Err() == nil && !errors.Is(err, quic.ErrServerClosed) {
				e.cfg.logger.Debug("rpc accept failed", "err", err)
			}
			return
		}
		certs := qc.ConnectionState().TLS.PeerCertificates
		if len(certs) != 1 {
			_ = qc.CloseWithError(closeProtocol, "bad certificate")
			continue
		}
		key, err := keyFromCerts([][]byte{certs[0].Raw})
		if err != nil {
			_ = qc.CloseWithError(closeProtocol, "bad certificate")
			continue
		}
		remote := udpAddrPort(qc.RemoteAddr())
		e.AddAddr(key, remote)
		if _, err := e.addConn(qc, key, key, remote); err != nil {
			continue
		}
	}
}

func udpAddrPort(a net.Addr) netip.AddrPort {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
