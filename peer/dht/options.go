package dht

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// Defaults and limits of a Node.
const (
	// DefaultK is the bucket size and the number of nodes that store a record (Kademlia's k).
	DefaultK = 20
	// MaxK is the largest k: a reply carries at most wire.MaxDHTNodes nodes.
	MaxK = wire.MaxDHTNodes
	// MinK is the smallest k accepted by WithK.
	MinK = 2
	// DefaultAlpha is the number of requests a lookup keeps in flight.
	DefaultAlpha = 3
	// MinAlpha and MaxAlpha bound WithAlpha.
	MinAlpha, MaxAlpha = 3, 10
	// DefaultRecordTTL is how long an announced record lives; Join re-announces at half of it.
	DefaultRecordTTL = 20 * time.Minute
	// MinRecordTTL and MaxRecordTTL bound WithRecordTTL. A storing node refuses records that
	// expire more than MaxRecordTTL+MaxClockSkew ahead of its clock.
	MinRecordTTL, MaxRecordTTL = time.Second, time.Hour
	// MaxClockSkew is the clock difference between nodes that record expiry checks tolerate.
	MaxClockSkew = time.Minute
	// DefaultLookupTimeout is the deadline of one lookup (also bounded by its context).
	DefaultLookupTimeout = 10 * time.Second
	// MinRequestTimeout and MaxRequestTimeout clamp a request's timeout, which is otherwise
	// srtt + 4*rttvar of the measured round trips to that node (or to all nodes). The floor is
	// well above a loopback round trip (about 0.1 ms): on a loaded host the delay before a
	// reply is processed, not the wire, dominates, and a too-short timeout only adds requests.
	MinRequestTimeout, MaxRequestTimeout = 20 * time.Millisecond, time.Second
	// InitialRequestTimeout is the timeout before any round trip was measured.
	InitialRequestTimeout = 500 * time.Millisecond
	// ReplacementCacheSize is the number of spare nodes kept per bucket.
	ReplacementCacheSize = 8
	// MaxPerSubnet is the most nodes of one IPv4 /24 (or IPv6 /64) in one bucket or replacement
	// cache. Loopback addresses are exempt: a test network runs hundreds of nodes on 127.0.0.1.
	MaxPerSubnet = 2
	// MaxFailures is the number of timeouts in a row after which a node leaves the routing table.
	MaxFailures = 2
	// RefreshInterval is how long a bucket may go without a lookup into it before it is refreshed.
	RefreshInterval = 15 * time.Minute
	// SaveInterval is how often the routing table is written to the state file.
	SaveInterval = 5 * time.Minute
	// TokenRotation is how often the token secret changes; a token is valid for one to two periods.
	TokenRotation = 5 * time.Minute
	// MaxRecordsPerTopic is the most records a node stores under one topic.
	MaxRecordsPerTopic = 64
	// MaxRecordsPerSource is the most records a node stores for one source (an IP address; an
	// IP and port for loopback sources).
	MaxRecordsPerSource = 64
	// MaxRecords is the most records a node stores in all.
	MaxRecords = 16384
	// MaxStateNodes is the most nodes saved to or loaded from the state file.
	MaxStateNodes = 512
	// MaxLookupCandidates bounds the nodes one lookup remembers.
	MaxLookupCandidates = 1024
	// MaxBindings is the number of verified (key, address) pairs remembered outside the routing
	// table (see Node).
	MaxBindings = 64
	// MaxCheckedRecords bounds the record verdicts a node remembers (see Node.verifyRecord):
	// about 100 KiB. When full it forgets them all and starts over.
	MaxCheckedRecords = 2048
	// MaxVerifyPings bounds the pings in flight that check nodes which contacted us.
	MaxVerifyPings = 32
)

// Sentinel errors.
var (
	// ErrClosed is returned by calls on a closed Node.
	ErrClosed = errors.New("dht: node closed")
	// ErrNoContacts reports a lookup with nobody to ask: an empty table and no bootstrap node.
	ErrNoContacts = errors.New("dht: no nodes to contact")
	// ErrNotFound reports a FindPeer that found no record of the key.
	ErrNotFound = errors.New("dht: not found")
	// ErrInvalidOption reports an option out of its documented range.
	ErrInvalidOption = errors.New("dht: invalid option")
	// ErrBootstrap reports that no bootstrap or saved node answered.
	ErrBootstrap = errors.New("dht: no bootstrap node answered")
	// ErrNoAnswer reports a Ping that got no valid answer within its timeout.
	ErrNoAnswer = errors.New("dht: no answer")
)

// AnnounceError reports an announce that no node stored.
type AnnounceError struct {
	Tried     int            // nodes sent the announce
	Statuses  map[string]int // replies per status; timeouts are counted as "timeout"
	LookupErr error          // the error of the lookup for the closest nodes, if any
}

func (e *AnnounceError) Error() string {
	if e.LookupErr != nil {
		return fmt.Sprintf("dht: announce: lookup: %v", e.LookupErr)
	}
	return fmt.Sprintf("dht: announce stored by none of %d nodes: %v", e.Tried, e.Statuses)
}

// Unwrap returns the lookup error.
func (e *AnnounceError) Unwrap() error { return e.LookupErr }

// Option configures a Node.
type Option func(*config)

type config struct {
	logger        *slog.Logger
	bootstrap     []netip.AddrPort
	stateFile     string
	k, alpha      int
	recordTTL     time.Duration
	lookupTimeout time.Duration
	now           func() time.Time
	client        bool
}

func defaultConfig() config {
	return config{
		logger:        slog.New(slog.DiscardHandler),
		k:             DefaultK,
		alpha:         DefaultAlpha,
		recordTTL:     DefaultRecordTTL,
		lookupTimeout: DefaultLookupTimeout,
		now:           time.Now,
	}
}

func (c *config) validate() error {
	switch {
	case c.k < MinK || c.k > MaxK:
		return fmt.Errorf("%w: k = %d, want %d to %d", ErrInvalidOption, c.k, MinK, MaxK)
	case c.alpha < MinAlpha || c.alpha > MaxAlpha:
		return fmt.Errorf("%w: alpha = %d, want %d to %d", ErrInvalidOption, c.alpha, MinAlpha, MaxAlpha)
	case c.recordTTL < MinRecordTTL || c.recordTTL > MaxRecordTTL:
		return fmt.Errorf("%w: record TTL %v, want %v to %v", ErrInvalidOption, c.recordTTL, MinRecordTTL, MaxRecordTTL)
	case c.lookupTimeout <= 0:
		return fmt.Errorf("%w: lookup timeout %v", ErrInvalidOption, c.lookupTimeout)
	case c.logger == nil || c.now == nil:
		return fmt.Errorf("%w: nil logger or clock", ErrInvalidOption)
	}
	return nil
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithBootstrap sets the addresses of the first nodes to contact. Their keys need not be known:
// their signed replies reveal them.
func WithBootstrap(addrs []netip.AddrPort) Option {
	return func(c *config) { c.bootstrap = append([]netip.AddrPort(nil), addrs...) }
}

// WithStateFile keeps the routing table in the file at path: loaded by New (its nodes are tried
// first by Bootstrap, so a restarted node rejoins without the bootstrap nodes), saved every
// SaveInterval and by Close. The file is replaced atomically.
func WithStateFile(path string) Option { return func(c *config) { c.stateFile = path } }

// WithK sets k, the bucket size and replication factor (default DefaultK, MinK to MaxK).
func WithK(k int) Option { return func(c *config) { c.k = k } }

// WithAlpha sets the requests a lookup keeps in flight (default DefaultAlpha, MinAlpha to MaxAlpha).
func WithAlpha(a int) Option { return func(c *config) { c.alpha = a } }

// WithRecordTTL sets the lifetime of the records this node announces (default DefaultRecordTTL,
// MinRecordTTL to MaxRecordTTL). Join re-announces at half of it.
func WithRecordTTL(d time.Duration) Option { return func(c *config) { c.recordTTL = d } }

// WithLookupTimeout sets the deadline of one lookup (default DefaultLookupTimeout).
func WithLookupTimeout(d time.Duration) Option { return func(c *config) { c.lookupTimeout = d } }

// WithClock sets the wall clock used for record expiry (default time.Now). Timeouts always use
// the monotonic clock.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithClient makes a client-only node: it asks but answers nobody, and its requests say so, so it
// never enters other nodes' routing tables. For short-lived processes.
func WithClient() Option { return func(c *config) { c.client = true } }
