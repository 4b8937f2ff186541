package rpc

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// tokenBucket is a classic token bucket: it holds up to burst tokens, gains rate tokens per
// second, and every admitted call takes one. The zero value is full (it is filled on first use).
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// allow refills the bucket for the time since its last use (never beyond burst), then takes a
// token if one is there. A rate of zero or less admits everything. now should not go backwards;
// if it does, no tokens are added.
func (b *tokenBucket) allow(now time.Time, rate float64, burst int) bool {
	if rate <= 0 {
		return true
	}
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(burst), b.tokens+d.Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// peek returns the tokens the bucket holds at now (whole and fractional) without changing it.
func (b *tokenBucket) peek(now time.Time, rate float64, burst int) float64 {
	if b.last.IsZero() {
		return float64(burst)
	}
	if d := now.Sub(b.last); d > 0 {
		return min(float64(burst), b.tokens+d.Seconds()*rate)
	}
	return b.tokens
}

// refusal classifies a call this endpoint did not serve normally, for Stats and the refusal log.
type refusal uint8

const (
	refusedRate     refusal = iota // the caller's rate limit
	refusedOverload                // handler slots or byte budget full, or a handler shed load
	refusedReject                  // a handler rejected the request
	refusedBad                     // malformed, oversized or unknown-method request
	numRefusals
)

// refusalNames are the log attribute keys of the refusal counts.
var refusalNames = [numRefusals]string{"rate_limited", "overloaded", "rejected", "bad_request"}

// caller is the state shared by every connection of one remote peer: its request rate limit and
// its refusal log. It lives while the peer has a connection to this endpoint.
type caller struct {
	key  wire.PeerKey
	refs int // live connections of key; guarded by Endpoint.mu

	mu         sync.Mutex
	bucket     tokenBucket
	lastLog    time.Time
	pending    [numRefusals]uint64 // refusals since the last log line
	lastMethod string              // method and reason of the latest refusal not yet logged
	lastReason string
	flush      *time.Timer // logs the pending refusals once refusalLogInterval has passed
}

// Stats counts the calls an Endpoint refused since it started, and the dials it started over.
// Every field only grows.
type Stats struct {
	// RateLimited counts requests answered CodeOverloaded and events dropped because their caller
	// exceeded its rate limit (WithCallerRate).
	RateLimited uint64
	// Overloaded counts calls refused because the caller's handler slots or byte budget were
	// full, and requests a handler answered with Overloaded.
	Overloaded uint64
	// Rejected counts requests a handler answered with Reject (CodeRejected).
	Rejected uint64
	// BadRequests counts malformed, oversized or incomplete request frames and calls of unknown
	// methods.
	BadRequests uint64
	// DialRestarts counts handshakes a dial started over because its probes showed the path to
	// the peer had been cut and was open again (WithProbe).
	DialRestarts uint64
}

// endpointStats is the atomic counterpart of Stats.
type endpointStats [numRefusals]atomic.Uint64

// Stats returns the endpoint's refusal counters.
func (e *Endpoint) Stats() Stats {
	return Stats{
		RateLimited:  e.stats[refusedRate].Load(),
		Overloaded:   e.stats[refusedOverload].Load(),
		Rejected:     e.stats[refusedReject].Load(),
		BadRequests:  e.stats[refusedBad].Load(),
		DialRestarts: e.dialRestarts.Load(),
	}
}

// acquireCaller returns the shared state of key, creating it for its first connection. The caller
// holds e.mu.
func (e *Endpoint) acquireCaller(key wire.PeerKey) *caller {
	c := e.callers[key]
	if c == nil {
		c = &caller{key: key}
		e.callers[key] = c
	}
	c.refs++
	return c
}

// releaseCaller drops one connection's reference to c; the last one logs the refusals not yet
// logged and forgets the caller (a peer that reconnects starts with a full bucket, which costs it a
// handshake first).
func (e *Endpoint) releaseCaller(c *caller) {
	e.mu.Lock()
	c.refs--
	last := c.refs == 0
	if last && e.callers[c.key] == c {
		delete(e.callers, c.key)
	}
	e.mu.Unlock()
	if !last {
		return
	}
	c.mu.Lock()
	if c.flush != nil {
		c.flush.Stop()
		c.flush = nil
	}
	counts, method, reason := c.takePending()
	c.mu.Unlock()
	e.logRefusals(c.key, counts, method, reason)
}

// admit takes a token from c's rate limit at now, counting and logging a refusal when there is
// none.
func (e *Endpoint) admit(c *caller, now time.Time) bool {
	if e.cfg.callerRate <= 0 {
		return true
	}
	c.mu.Lock()
	ok := c.bucket.allow(now, e.cfg.callerRate, e.cfg.callerBurst)
	c.mu.Unlock()
	if !ok {
		e.refused(c, refusedRate, now, "", "request rate limit")
	}
	return ok
}

// refused counts a refusal of c's call and logs the refusals of c at most once per
// refusalLogInterval: the first refusal after a quiet interval is logged at once, later ones are
// summed into the next line, written when the interval is over (or when the caller's last
// connection closes, if sooner), so every refusal is logged within refusalLogInterval.
func (e *Endpoint) refused(c *caller, kind refusal, now time.Time, method, reason string) {
	e.stats[kind].Add(1)
	c.mu.Lock()
	c.pending[kind]++
	c.lastMethod, c.lastReason = method, reason
	if !c.lastLog.IsZero() && now.Sub(c.lastLog) < refusalLogInterval {
		e.armFlushLocked(c)
		c.mu.Unlock()
		return
	}
	c.lastLog = now
	counts, method, reason := c.takePending()
	c.mu.Unlock()
	e.logRefusals(c.key, counts, method, reason)
}

// armFlushLocked makes sure the refusals of c held back now are logged when the interval since
// its last line is over. The caller holds c.mu.
func (e *Endpoint) armFlushLocked(c *caller) {
	if c.flush == nil {
		c.flush = time.AfterFunc(refusalLogInterval-time.Since(c.lastLog), func() { e.flushRefusals(c) })
	}
}

// flushRefusals logs the refusals of c held back by refused, unless a line was written less than
// an interval ago (refused found the interval over before this timer ran): then it waits again.
func (e *Endpoint) flushRefusals(c *caller) {
	c.mu.Lock()
	c.flush = nil
	if c.pending == ([numRefusals]uint64{}) {
		c.mu.Unlock()
		return
	}
	if time.Since(c.lastLog) < refusalLogInterval {
		e.armFlushLocked(c)
		c.mu.Unlock()
		return
	}
	c.lastLog = time.Now()
	counts, method, reason := c.takePending()
	c.mu.Unlock()
	e.logRefusals(c.key, counts, method, reason)
}

// takePending returns and clears the refusals not yet logged. The caller holds c.mu.
func (c *caller) takePending() (counts [numRefusals]uint64, method, reason string) {
	counts, method, reason = c.pending, c.lastMethod, c.lastReason
	c.pending = [numRefusals]uint64{}
	c.lastMethod, c.lastReason = "", ""
	return counts, method, reason
}

// logRefusals writes one "rpc calls refused" record for key with the refusal counts since the
// previous one: at Warn level when a limit refused calls (the peer is flooding or this endpoint is
// overloaded), at Debug level when only handlers rejected requests or requests were malformed.
func (e *Endpoint) logRefusals(key wire.PeerKey, counts [numRefusals]uint64, method, reason string) {
	total := uint64(0)
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return
	}
	level := slog.LevelDebug
	if counts[refusedRate] > 0 || counts[refusedOverload] > 0 {
		level = slog.LevelWarn
	}
	if !e.cfg.logger.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, numRefusals+3)
	attrs = append(attrs, slog.String("peer", key.Short()))
	for k, n := range counts {
		if n > 0 {
			attrs = append(attrs, slog.Uint64(refusalNames[k], n))
		}
	}
	if method != "" {
		attrs = append(attrs, slog.String("last_method", method))
	}
	attrs = append(attrs, slog.String("last_reason", reason))
	e.cfg.logger.LogAttrs(context.Background(), level, "rpc calls refused", attrs...)
}

// statusRefusal maps the status a request was answered with to its refusal kind; ok is false for
// statuses that are not refusals (success, timeouts, closes, internal errors).
func statusRefusal(st wire.RPCStatus) (kind refusal, ok bool) {
	switch st {
	case wire.StatusRejected:
		return refusedReject, true
	case wire.StatusOverloaded:
		return refusedOverload, true
	case wire.StatusBadRequest, wire.StatusUnknownMethod:
		return refusedBad, true
	}
	return 0, false
}
