package dht

import (
	"net/netip"
	"time"
)

// Per-source rate limit of incoming requests. Each source (an IP address; an IP address and
// port for loopback sources, where a test network runs many nodes on one address) has a token
// bucket: a request takes a token, tokens refill at RequestRate per second up to RequestBurst,
// and a request finding the bucket empty is dropped unanswered before it is decoded or a reply
// signed. A flood from one source thus costs the node little and leaves the other sources'
// buckets untouched.
const (
	// RequestRate is the sustained number of requests per second one source may send.
	RequestRate = 100
	// RequestBurst is the number of requests one source may send at once after being idle.
	RequestBurst = 200
	// MaxRateSources bounds the sources tracked. When it is reached, sources whose buckets
	// refilled are forgotten; if none did, requests from new sources are dropped until one does.
	MaxRateSources = 4096
)

// limiter is the per-source token bucket set. Only the read loop uses it, so it has no lock.
type limiter struct {
	buckets   map[netip.AddrPort]*tokenBucket
	lastPrune time.Time
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

func (l *limiter) init() { l.buckets = make(map[netip.AddrPort]*tokenBucket) }

// allow reports whether a request from src may be answered at now, taking a token if so.
func (l *limiter) allow(src netip.AddrPort, now time.Time) bool {
	key := sourceOf(src)
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= MaxRateSources && !l.prune(now) {
			return false
		}
		b = &tokenBucket{tokens: RequestBurst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(RequestBurst, b.tokens+now.Sub(b.last).Seconds()*RequestRate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refillTime is how long an empty bucket takes to fill up.
const refillTime = time.Duration(RequestBurst * float64(time.Second) / RequestRate)

// prune forgets the sources whose buckets are full again (they are the same as new ones), at
// most once per tenth of refillTime, and reports whether there is room for a new source.
func (l *limiter) prune(now time.Time) bool {
	if now.Sub(l.lastPrune) >= refillTime/10 {
		l.lastPrune = now
		for k, b := range l.buckets {
			if now.Sub(b.last) >= refillTime {
				delete(l.buckets, k)
			}
		}
	}
	return len(l.buckets) < MaxRateSources
}
