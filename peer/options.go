package peer

import (
	"log/slog"
	"net"
	"time"
)

// Defaults and limits of the engine.
const (
	// DefaultMarket is the market joined when none is given.
	DefaultMarket = "main"
	// DefaultBootstrap is the bootstrap address used when none is given. A peer that finds it free
	// serves as that bootstrap itself, so peers on one machine find each other with no set-up.
	DefaultBootstrap = "127.0.0.1:30001"
	// DefaultBidTimeout bounds a bid round trip to a seller, including dialing it.
	DefaultBidTimeout = 5 * time.Second
	// DefaultAntiEntropy is the period of the heads exchange with every connected peer.
	DefaultAntiEntropy = 2 * time.Second
	// DefaultMaxPeers is the default bound on the market peers this node keeps connections to
	// (see WithMaxPeers): a market of up to this many peers is a full mesh, in which every entry
	// reaches every peer in one push.
	DefaultMaxPeers = 128
	// MaxMaxPeers is the largest value WithMaxPeers accepts.
	MaxMaxPeers = 1024
	// AntiEntropyFanout is the number of peers a node exchanges heads with per anti-entropy
	// period, on average. With more peers connected, the period of each peer's exchange grows in
	// proportion, so the exchanges a node makes per period stay about this many whatever the
	// market's size (pushes carry new entries at once; the exchanges only repair).
	AntiEntropyFanout = 32
	// MaxBatch bounds the entries the sequencer commits in one durable append.
	MaxBatch = 1024
	// MaxBidsInFlightPerPeer bounds the bids one bidder may have waiting at this seller's
	// sequencer; more are answered "overloaded" at once, so one bidder cannot delay the others.
	MaxBidsInFlightPerPeer = 16
	// MaxNameLen bounds a display name, in bytes.
	MaxNameLen = 64
)

type config struct {
	dataDir     string
	name        string
	listen      string
	bootstrap   []string
	market      string
	logger      *slog.Logger
	now         func() time.Time
	antiEntropy time.Duration
	bidTimeout  time.Duration
	lookupEvery time.Duration
	serveBoot   bool
	maxPeers    int
	wrapConn    func(net.PacketConn) net.PacketConn
}

func defaults() config {
	return config{
		listen:      "127.0.0.1:0",
		market:      DefaultMarket,
		logger:      slog.New(slog.DiscardHandler),
		now:         time.Now,
		antiEntropy: DefaultAntiEntropy,
		bidTimeout:  DefaultBidTimeout,
		lookupEvery: 10 * time.Second,
		serveBoot:   true,
		maxPeers:    DefaultMaxPeers,
	}
}

// Option configures a Node.
type Option func(*config)

// WithDataDir sets the data folder holding the identity key and the logs. It is required.
func WithDataDir(dir string) Option { return func(c *config) { c.dataDir = dir } }

// WithName sets the display name published in the peer's log (at most MaxNameLen bytes). When
// empty, the name already published is kept, or a name derived from the key is used.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithListen sets the UDP address QUIC and the DHT listen on. Default "127.0.0.1:0".
func WithListen(addr string) Option { return func(c *config) { c.listen = addr } }

// WithBootstrap sets the DHT bootstrap addresses (HOST:PORT). Default: DefaultBootstrap, served
// by this node itself when nobody holds it.
func WithBootstrap(addrs ...string) Option {
	return func(c *config) { c.bootstrap = append(c.bootstrap, addrs...) }
}

// WithMarket sets the market (DHT topic) to join. Default DefaultMarket.
func WithMarket(name string) Option { return func(c *config) { c.market = name } }

// WithLogger sets the logger for diagnostics. Default: discard.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithClock sets the clock used for entry times and deadlines. Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithMaxPeers bounds the market peers this node keeps connections to, from 1 to MaxMaxPeers.
// Default DefaultMaxPeers.
func WithMaxPeers(n int) Option {
	return func(c *config) { c.maxPeers = max(1, min(n, MaxMaxPeers)) }
}

// WithAntiEntropy sets the period of the heads exchange with connected peers. Default
// DefaultAntiEntropy.
func WithAntiEntropy(d time.Duration) Option { return func(c *config) { c.antiEntropy = d } }

// WithBidTimeout bounds a bid round trip to the seller. Default DefaultBidTimeout.
func WithBidTimeout(d time.Duration) Option { return func(c *config) { c.bidTimeout = d } }

// WithLookupInterval sets the period of market lookups once the node has peers (with ±20%
// jitter). Default 10 s; lookups run every second while the node has no peer.
func WithLookupInterval(d time.Duration) Option { return func(c *config) { c.lookupEvery = d } }

// WithoutBootstrapServer stops the node from serving as the default bootstrap when it finds
// DefaultBootstrap free.
func WithoutBootstrapServer() Option { return func(c *config) { c.serveBoot = false } }

// WithPacketConnWrapper wraps the node's UDP socket before QUIC and the DHT use it. Fault-injection
// tests use it to delay, drop, reorder or partition real packets. Default: no wrapper.
func WithPacketConnWrapper(wrap func(net.PacketConn) net.PacketConn) Option {
	return func(c *config) { c.wrapConn = wrap }
}
