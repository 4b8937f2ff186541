package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Defaults and limits of an Endpoint.
const (
	// ALPN is the TLS application protocol: the protocol name and its major version.
	ALPN = "auction-tui/1"
	// DefaultRequestTimeout is the deadline of a call whose context has none, and the time a
	// responder gives a handler and allows for reading a request.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultMaxStreamsPerPeer is the number of calls (requests and events) one peer may have
	// in flight at this endpoint; excess calls are answered with CodeOverloaded.
	DefaultMaxStreamsPerPeer = 64
	// DefaultMaxMessageSize is the largest request or response payload, in bytes (1 MiB).
	DefaultMaxMessageSize = wire.DefaultRPCPayload
	// MaxMessageSize is the ceiling for WithMaxMessageSize, in bytes (16 MiB).
	MaxMessageSize = wire.MaxRPCPayload
	// DefaultMaxPeerBytes is the most request bytes this endpoint buffers for one peer at once
	// (8 MiB); a request that would exceed it is answered with CodeOverloaded.
	DefaultMaxPeerBytes = 8 << 20
	// DefaultKeepAlive is the keep-alive period of every connection.
	DefaultKeepAlive = 10 * time.Second
	// MaxKeepAlive is the longest keep-alive period allowed.
	MaxKeepAlive = 15 * time.Second
	// DefaultIdleTimeout closes a connection that heard nothing for this long.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultDialTimeout bounds one dial attempt (handshake included).
	DefaultDialTimeout = 10 * time.Second
	// DefaultCallerRate is the sustained number of calls (requests and events together) per
	// second one peer may make to this endpoint across all its connections; calls beyond it and
	// the burst are refused before anything of them is read (a request is answered
	// CodeOverloaded, an event is dropped). The engine's heaviest honest flow, a seller taking
	// about 3,000 bids/s from 4 bidder peers while pushing every new entry to each of them, makes
	// under 1,000 calls/s per peer pair, and the RPC echo benchmark makes tens of thousands; 5,000
	// calls/s leaves an honest peer five times its heaviest need and still caps what a flooding
	// peer can make a responder do (see DefaultMaxStreamsPerPeer for the concurrent part).
	DefaultCallerRate = 5000
	// DefaultCallerBurst is the number of calls one peer may make at once above DefaultCallerRate
	// (the depth of its token bucket): a catch-up or a reconnect that fires hundreds of fetches
	// and heads exchanges at once passes.
	DefaultCallerBurst = 1000
	// refusalLogInterval is the least time between two "rpc calls refused" log records for one
	// peer; the refusals in between are counted in the next record.
	refusalLogInterval = time.Second
	// MaxAddrsPerPeer is the number of addresses the address book keeps per peer (most recent
	// first).
	MaxAddrsPerPeer = 8
	// overloadSlack is the number of QUIC streams a peer may open beyond its handler slots, so
	// that excess calls get a CodeOverloaded answer instead of waiting for stream credit.
	overloadSlack = 16
	// streamCredit multiplies the handler slots to give QUIC's stream limit: a finished stream
	// only returns its credit once the caller acknowledged the answer, so with credit equal to the
	// slots a caller keeping every slot busy would stall on stream credit, not on handlers.
	streamCredit = 4
	// drainGrace is the least time a duplicate connection stays idle before it is closed.
	drainGrace = 100 * time.Millisecond
)

// Resolver finds addresses for a peer key the address book does not know, for example through a
// DHT lookup. It must honour ctx.
type Resolver func(ctx context.Context, key wire.PeerKey) ([]netip.AddrPort, error)

type config struct {
	logger         *slog.Logger
	requestTimeout time.Duration
	maxStreams     int
	maxMessage     int
	maxPeerBytes   int
	callerRate     float64
	callerBurst    int
	keepAlive      time.Duration
	idleTimeout    time.Duration
	dialTimeout    time.Duration
	resolver       Resolver
	probe          Probe
	wrapConn       func(net.PacketConn) net.PacketConn
}

func defaultConfig() config {
	return config{
		logger:         slog.New(slog.DiscardHandler),
		requestTimeout: DefaultRequestTimeout,
		maxStreams:     DefaultMaxStreamsPerPeer,
		maxMessage:     DefaultMaxMessageSize,
		maxPeerBytes:   DefaultMaxPeerBytes,
		callerRate:     DefaultCallerRate,
		callerBurst:    DefaultCallerBurst,
		keepAlive:      DefaultKeepAlive,
		idleTimeout:    DefaultIdleTimeout,
		dialTimeout:    DefaultDialTimeout,
	}
}

func (c *config) validate() error {
	switch {
	case c.requestTimeout <= 0:
		return fmt.Errorf("rpc: request timeout %v must be positive", c.requestTimeout)
	case c.maxStreams < 1:
		return fmt.Errorf("rpc: max streams per peer %d must be at least 1", c.maxStreams)
	case c.maxMessage < 0 || c.maxMessage > MaxMessageSize:
		return fmt.Errorf("rpc: max message size %d not in 0..%d", c.maxMessage, MaxMessageSize)
	case c.maxPeerBytes < wire.RPCRequestBodyMax(c.maxMessage):
		return fmt.Errorf("rpc: max peer bytes %d below one maximal request", c.maxPeerBytes)
	case c.callerRate < 0 || c.callerRate != c.callerRate:
		return fmt.Errorf("rpc: caller rate %v must be zero (no limit) or positive", c.callerRate)
	case c.callerRate > 0 && c.callerBurst < 1:
		return fmt.Errorf("rpc: caller burst %d must be at least 1", c.callerBurst)
	case c.keepAlive <= 0 || c.keepAlive > MaxKeepAlive:
		return fmt.Errorf("rpc: keep-alive %v not in (0, %v]", c.keepAlive, MaxKeepAlive)
	case c.idleTimeout <= c.keepAlive:
		return fmt.Errorf("rpc: idle timeout %v must exceed keep-alive %v", c.idleTimeout, c.keepAlive)
	case c.dialTimeout <= 0:
		return fmt.Errorf("rpc: dial timeout %v must be positive", c.dialTimeout)
	}
	return nil
}

// Option configures an Endpoint.
type Option func(*config)

// WithLogger sets the logger (default: discard). Protocol violations by peers log at Debug level.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithRequestTimeout sets the deadline of calls whose context has none, how long a handler may
// run, and how long a responder waits for a request frame (default DefaultRequestTimeout). It
// must be positive: there is no infinite deadline.
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.requestTimeout = d } }

// WithMaxStreamsPerPeer sets how many calls one peer may have in flight here (default
// DefaultMaxStreamsPerPeer, at least 1).
func WithMaxStreamsPerPeer(n int) Option { return func(c *config) { c.maxStreams = n } }

// WithMaxMessageSize sets the largest request or response payload, in bytes (default
// DefaultMaxMessageSize, at most MaxMessageSize). Both ends of a call should use the same value.
func WithMaxMessageSize(n int) Option { return func(c *config) { c.maxMessage = n } }

// WithMaxPeerBytes sets the most request bytes buffered for one peer at once (default
// DefaultMaxPeerBytes; at least one maximal request).
func WithMaxPeerBytes(n int) Option { return func(c *config) { c.maxPeerBytes = n } }

// WithCallerRate sets the rate limit of each calling peer: perSecond calls (requests and events
// together, across the peer's connections) sustained, and burst calls at once (defaults
// DefaultCallerRate and DefaultCallerBurst). A perSecond of 0 turns the limit off; otherwise burst
// must be at least 1. Calls over the limit are refused before they are read: a request is answered
// CodeOverloaded, an event is dropped, and both are counted in Stats and logged. The QUIC stream
// credit of a refused call is held back until the caller's bucket refills, so a caller that keeps
// calling over its rate soon blocks on opening streams (at most about twice its rate of streams
// are opened) instead of looping on refusals.
func WithCallerRate(perSecond float64, burst int) Option {
	return func(c *config) { c.callerRate, c.callerBurst = perSecond, burst }
}

// WithKeepAlive sets the keep-alive period (default DefaultKeepAlive, at most MaxKeepAlive, and
// below the idle timeout).
func WithKeepAlive(d time.Duration) Option { return func(c *config) { c.keepAlive = d } }

// WithIdleTimeout sets the idle timeout of connections (default DefaultIdleTimeout). QUIC uses the
// smaller of both peers' values.
func WithIdleTimeout(d time.Duration) Option { return func(c *config) { c.idleTimeout = d } }

// WithDialTimeout bounds one dial attempt, handshake included (default DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option { return func(c *config) { c.dialTimeout = d } }

// WithProbe sets the reachability probe of slow dials (default: none, and a dial is one
// handshake). A dial whose handshake has not finished after DialProbeEvery probes its address
// every DialProbeEvery; once a probe is answered after an earlier one was not (the path was cut
// and is open again, as when a partition heals), the dial starts its handshake over, at most
// MaxDialRestarts times. See dial.go for why.
func WithProbe(p Probe) Option { return func(c *config) { c.probe = p } }

// WithResolver sets the function used to find addresses for a key the address book lacks.
func WithResolver(r Resolver) Option { return func(c *config) { c.resolver = r } }

// WithPacketConnWrapper wraps the endpoint's UDP socket before quic-go uses it, so that tests can
// delay, drop, reorder or partition real packets (see peer/faultnet). The wrapper's WriteTo and
// ReadFrom carry both QUIC packets and the non-QUIC datagrams of ReadNonQUICPacket and WriteTo.
// The endpoint still closes the underlying socket. Default: none.
func WithPacketConnWrapper(wrap func(net.PacketConn) net.PacketConn) Option {
	return func(c *config) { c.wrapConn = wrap }
}
