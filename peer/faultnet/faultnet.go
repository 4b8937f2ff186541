// Package faultnet injects network faults into real UDP sockets: delay with jitter, loss,
// reordering, duplication, partitions and isolation. It wraps a net.PacketConn (the socket under a
// quic-go Transport and the DHT) so that the real engine runs over a misbehaving network in one
// process, on loopback.
//
// Faults are applied when a packet is sent (WriteTo), so QUIC packets and DHT datagrams suffer
// alike. Partitions and isolation are also enforced when a packet is received (ReadFrom), so a
// wrapped socket is cut off even from senders that are not wrapped (a bootstrap node, for
// example). Loss, delay, reordering and duplication are applied once, on the send side only.
//
// # Determinism
//
// Every fault decision comes from a pseudo-random stream that is a pure function of the seed
// given to New, the link (the Wrap ordinals of the sending and the receiving socket) and the
// packet's sequence number on that link: the k-th packet sent on a link always draws the same
// random numbers, whatever the faults configured and whatever happens on other links. What is
// not deterministic is the traffic itself: goroutine scheduling and timers decide which packets
// the engine sends and when, so two runs with one seed see the same fault schedule per packet
// sequence, not the same packets. Ordinals are given in the order Wrap is called; callers that
// want the same ordinals on every run wrap their sockets in a fixed order.
package faultnet

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limits of the fault model.
const (
	// MaxDelay bounds every configured delay (Delay, Jitter and ReorderDelay each), so that a
	// typo cannot hold packets for hours.
	MaxDelay = 10 * time.Second
	// MaxQueued bounds the packets one wrapped socket holds for delayed delivery; past it new
	// delayed packets are dropped and counted in Stats.Overflow, as a full router queue would.
	MaxQueued = 1 << 14
)

// ErrInvalidFaults reports a Faults value out of range.
var ErrInvalidFaults = errors.New("faultnet: invalid faults")

// Faults describes what happens to the packets of a link. The zero value is a perfect link.
type Faults struct {
	// Delay is added to every delivered packet. At most MaxDelay.
	Delay time.Duration
	// Jitter adds a uniformly random extra delay in [0, Jitter) to every delivered packet. At
	// most MaxDelay.
	Jitter time.Duration
	// Loss is the probability, in [0, 1], that a packet is dropped.
	Loss float64
	// Duplicate is the probability, in [0, 1], that a delivered packet is delivered twice; the
	// copy gets its own jitter.
	Duplicate float64
	// Reorder is the probability, in [0, 1], that a delivered packet is held ReorderDelay longer
	// than its delay, so that packets sent after it overtake it.
	Reorder float64
	// ReorderDelay is the extra delay of a reordered packet. At most MaxDelay.
	ReorderDelay time.Duration
}

// Validate reports whether f is in range, with an error wrapping ErrInvalidFaults naming the
// field that is not.
func (f Faults) Validate() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Delay", f.Delay}, {"Jitter", f.Jitter}, {"ReorderDelay", f.ReorderDelay}} {
		if d.v < 0 || d.v > MaxDelay {
			return fmt.Errorf("%w: %s %v not in [0, %v]", ErrInvalidFaults, d.name, d.v, MaxDelay)
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"Loss", f.Loss}, {"Duplicate", f.Duplicate}, {"Reorder", f.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) { // also rejects NaN
			return fmt.Errorf("%w: %s %v not in [0, 1]", ErrInvalidFaults, p.name, p.v)
		}
	}
	return nil
}

// Verdict is what a fault decision did to a packet.
type Verdict int

// The verdicts.
const (
	// Delivered: the packet was handed to the real socket (after Decision.Delay).
	Delivered Verdict = iota + 1
	// Lost: the packet was dropped by the link's loss probability.
	Lost
	// Blocked: the packet was dropped because a partition or an isolation separates its ends.
	Blocked
)

// String returns the verdict in lowercase, for example "lost".
func (v Verdict) String() string {
	switch v {
	case Delivered:
		return "delivered"
	case Lost:
		return "lost"
	case Blocked:
		return "blocked"
	}
	return "unknown"
}

// Decision records the fate of one sent packet, for tracing (see WithTrace).
type Decision struct {
	From, To  netip.AddrPort
	Link      [2]uint64 // Wrap ordinals of the sender and the receiver (0 when the receiver is not wrapped)
	Seq       uint64    // the packet's sequence number on the link, from 0
	Size      int       // bytes
	Verdict   Verdict
	Delay     time.Duration // Delivered: the delay before the packet is written
	Reordered bool          // Delivered: ReorderDelay was added
	Duplicate bool          // Delivered: a second copy is written after DupDelay
	DupDelay  time.Duration
}

// Stats counts the packets a Network handled, over all its sockets.
type Stats struct {
	Sent       uint64 // packets offered to WriteTo
	Delivered  uint64 // packets written to the real socket (copies included)
	Lost       uint64 // dropped by loss
	Blocked    uint64 // dropped on send by a partition or isolation
	RecvBlock  uint64 // dropped on receive by a partition or isolation
	Delayed    uint64 // delivered after a non-zero delay
	Reordered  uint64 // held back by ReorderDelay
	Duplicated uint64 // extra copies made
	Overflow   uint64 // dropped because the delay queue was full
}

type config struct {
	faults Faults
	trace  func(Decision)
	logger *slog.Logger
}

// Option configures a Network.
type Option func(*config)

// WithFaults sets the faults of every link that has no faults of its own (see SetLink). Default:
// none. New panics when f is invalid, a programming error; SetDefault reports it instead.
func WithFaults(f Faults) Option { return func(c *config) { c.faults = f } }

// WithTrace calls fn with every send decision, synchronously, while the Network's lock is held:
// fn must be fast and must not call the Network. Default: none.
func WithTrace(fn func(Decision)) Option { return func(c *config) { c.trace = fn } }

// WithLogger sets the logger for diagnostics (failed delayed writes, at Debug level). Default:
// discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

type linkKey struct{ from, to uint64 }

type link struct {
	rng *rand.Rand
	seq uint64
}

// Network is a fault-injecting network shared by the sockets it wraps. Its methods are safe for
// concurrent use.
type Network struct {
	cfg  config
	seed uint64

	mu       sync.Mutex
	def      Faults
	perLink  map[[2]netip.AddrPort]Faults
	links    map[linkKey]*link
	ords     map[netip.AddrPort]uint64 // the latest wrapped socket at each address
	nextOrd  uint64
	group    map[netip.AddrPort]int // partition group of each address named by Partition
	isolated map[netip.AddrPort]bool
	conns    map[*Conn]struct{}
	stats    Stats
}

// New returns a Network whose fault decisions derive from seed. It panics when an option is
// invalid (a programming error).
func New(seed uint64, opts ...Option) *Network {
	cfg := config{logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.faults.Validate(); err != nil {
		panic(err)
	}
	return &Network{
		cfg:      cfg,
		seed:     seed,
		def:      cfg.faults,
		perLink:  make(map[[2]netip.AddrPort]Faults),
		links:    make(map[linkKey]*link),
		ords:     make(map[netip.AddrPort]uint64),
		group:    make(map[netip.AddrPort]int),
		isolated: make(map[netip.AddrPort]bool),
		conns:    make(map[*Conn]struct{}),
	}
}

// Seed returns the seed given to New.
func (n *Network) Seed() uint64 { return n.seed }

// SetDefault sets the faults of every link that has none of its own.
func (n *Network) SetDefault(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	n.mu.Lock()
	n.def = f
	n.mu.Unlock()
	return nil
}

// SetLink sets the faults of the directed link from → to, overriding the default.
func (n *Network) SetLink(from, to netip.AddrPort, f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	n.mu.Lock()
	n.perLink[[2]netip.AddrPort{unmap(from), unmap(to)}] = f
	n.mu.Unlock()
	return nil
}

// ClearLinks removes every per-link setting: all links use the default again.
func (n *Network) ClearLinks() {
	n.mu.Lock()
	clear(n.perLink)
	n.mu.Unlock()
}

// Partition splits the network into groups: a packet between addresses of two different groups
// is dropped. An address named in no group is not affected. Partition replaces any earlier
// partition; isolations stay.
func (n *Network) Partition(groups ...[]netip.AddrPort) {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.group)
	for i, g := range groups {
		for _, a := range g {
			n.group[unmap(a)] = i
		}
	}
}

// Isolate cuts addr off: every packet from or to it is dropped until Heal.
func (n *Network) Isolate(addr netip.AddrPort) {
	n.mu.Lock()
	n.isolated[unmap(addr)] = true
	n.mu.Unlock()
}

// Heal ends the partition and every isolation. Loss, delay and the other link faults stay.
func (n *Network) Heal() {
	n.mu.Lock()
	clear(n.group)
	clear(n.isolated)
	n.mu.Unlock()
}

// Blocks reports whether a packet from → to would be dropped by a partition or an isolation now.
func (n *Network) Blocks(from, to netip.AddrPort) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.blockedLocked(unmap(from), unmap(to))
}

// Stats returns the packet counters so far.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Close closes every socket the Network wrapped and still open, dropping their delayed packets.
func (n *Network) Close() error {
	n.mu.Lock()
	conns := make([]*Conn, 0, len(n.conns))
	for c := range n.conns {
		conns = append(conns, c)
	}
	n.mu.Unlock()
	var errs []error
	for _, c := range conns {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (n *Network) blockedLocked(from, to netip.AddrPort) bool {
	if n.isolated[from] || n.isolated[to] {
		return true
	}
	gf, okf := n.group[from]
	gt, okt := n.group[to]
	return okf && okt && gf != gt
}

// ordinalLocked returns the ordinal of the socket at a: its Wrap ordinal when wrapped, otherwise
// a number derived from the address with the top bit set, so it never equals a Wrap ordinal.
func (n *Network) ordinalLocked(a netip.AddrPort) uint64 {
	if o, ok := n.ords[a]; ok {
		return o
	}
	h := fnv.New64a()
	b, _ := a.MarshalBinary()
	h.Write(b)
	return h.Sum64() | 1<<63
}

// decide draws the fate of one packet from → to. It always draws the same five numbers from the
// link's stream, so the k-th packet of a link gets the same draws whatever the configuration.
func (n *Network) decide(fromOrd uint64, from, to netip.AddrPort, size int) Decision {
	n.mu.Lock()
	defer n.mu.Unlock()
	toOrd := n.ordinalLocked(to)
	k := linkKey{fromOrd, toOrd}
	l := n.links[k]
	if l == nil {
		l = &link{rng: rand.New(rand.NewPCG(n.seed, mix(fromOrd, toOrd)))}
		n.links[k] = l
	}
	d := Decision{From: from, To: to, Link: [2]uint64{fromOrd, toOrd}, Seq: l.seq, Size: size}
	l.seq++
	uLoss, uJitter, uReorder, uDup, uDupJitter := l.rng.Float64(), l.rng.Float64(), l.rng.Float64(), l.rng.Float64(), l.rng.Float64()
	f, ok := n.perLink[[2]netip.AddrPort{from, to}]
	if !ok {
		f = n.def
	}
	n.stats.Sent++
	switch {
	case n.blockedLocked(from, to):
		d.Verdict = Blocked
		n.stats.Blocked++
	case uLoss < f.Loss:
		d.Verdict = Lost
		n.stats.Lost++
	default:
		d.Verdict = Delivered
		d.Delay = f.Delay + time.Duration(uJitter*float64(f.Jitter))
		if uReorder < f.Reorder {
			d.Reordered = true
			d.Delay += f.ReorderDelay
			n.stats.Reordered++
		}
		if uDup < f.Duplicate {
			d.Duplicate = true
			d.DupDelay = f.Delay + time.Duration(uDupJitter*float64(f.Jitter))
			n.stats.Duplicated++
		}
	}
	if n.cfg.trace != nil {
		n.cfg.trace(d)
	}
	return d
}

// mix derives a link's stream from the two ordinals (SplitMix64 finaliser over both).
func mix(a, b uint64) uint64 {
	z := a*0x9e3779b97f4a7c15 ^ (b + 0x632be59bd9b4e019)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }

// addrPort converts a net.Addr to an AddrPort with IPv4 in its 4-byte form.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	switch v := a.(type) {
	case *net.UDPAddr:
		return unmap(v.AddrPort()), true
	case interface{ AddrPort() netip.AddrPort }:
		return unmap(v.AddrPort()), true
	case nil:
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return unmap(ap), true
}
