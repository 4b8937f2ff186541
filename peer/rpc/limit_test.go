package rpc

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestTokenBucket(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []struct {
			after time.Duration // time passed before this step
			calls int           // calls made at once
			want  int           // calls admitted
		}
	}{
		{"burst then refill", 100, 10, []struct {
			after time.Duration
			calls int
			want  int
		}{{0, 15, 10}, {10 * time.Millisecond, 3, 1}, {25 * time.Millisecond, 5, 2}, {time.Hour, 50, 10}}},
		{"burst of one", 2, 1, []struct {
			after time.Duration
			calls int
			want  int
		}{{0, 3, 1}, {250 * time.Millisecond, 1, 0}, {250 * time.Millisecond, 2, 1}}},
		{"no limit", 0, 0, []struct {
			after time.Duration
			calls int
			want  int
		}{{0, 1000, 1000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var b tokenBucket
				for i, st := range tt.steps {
					time.Sleep(st.after) // fake time: the bubble's clock jumps
					got := 0
					for range st.calls {
						if b.allow(time.Now(), tt.rate, tt.burst) {
							got++
						}
					}
					if got != st.want {
						t.Fatalf("step %d: %d of %d admitted, want %d", i, got, st.calls, st.want)
					}
				}
			})
		})
	}
}

// TestTokenBucketClockBackwards checks that a clock going backwards adds no tokens.
func TestTokenBucketClockBackwards(t *testing.T) {
	var b tokenBucket
	now := time.Unix(1000, 0)
	if !b.allow(now, 1, 1) {
		t.Fatal("first call refused")
	}
	if b.allow(now.Add(-time.Hour), 1, 1) {
		t.Fatal("a clock going back refilled the bucket")
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a slog handler.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the logged lines that contain every one of substrs.
func (s *syncBuffer) lines(substrs ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for l := range strings.Lines(s.b.String()) {
		if !slices.ContainsFunc(substrs, func(sub string) bool { return !strings.Contains(l, sub) }) {
			out = append(out, l)
		}
	}
	return out
}

// TestCallerRateLimit floods one endpoint from one peer beyond its rate limit while a second
// peer calls it: the flood is answered CodeOverloaded beyond the burst, and the credit of the
// refused streams is parked, so the flooder's calls block on opening streams and it makes about
// twice its rate of calls instead of looping on refusals; every honest call made while the
// flooder is held back succeeds at once; the refusals are counted and logged in a bounded number
// of lines, and nothing leaks (goroutines, parked credit, handler slots).
func TestCallerRateLimit(t *testing.T) {
	const (
		rate, burst = 200, 50
		maxStreams  = 4 // QUIC credit: streamCredit*4+overloadSlack = 32 streams
		flooders    = 24
		floodFor    = 1500 * time.Millisecond
		honestCalls = 40
	)
	base := runtime.NumGoroutine()
	var logBuf syncBuffer
	logger := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newEndpointNoCleanup(t, WithCallerRate(rate, burst), WithMaxStreamsPerPeer(maxStreams), WithLogger(logger))
	srv.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
	srv.Respond("deny", func(context.Context, *Request) ([]byte, error) { return nil, Reject("no") })
	flood, honest := newEndpointNoCleanup(t), newEndpointNoCleanup(t)
	for _, c := range []*Endpoint{flood, honest} {
		c.AddAddr(srv.Key(), srv.Addr())
	}
	closeAll := sync.OnceFunc(func() {
		for _, e := range []*Endpoint{flood, honest, srv} {
			if err := e.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		}
	})
	t.Cleanup(closeAll)

	ctx := t.Context()
	if _, err := honest.Request(ctx, srv.Key(), "echo", []byte("warm")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var ok, overloaded atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range flooders {
		wg.Go(func() {
			for !stop.Load() {
				_, err := flood.Request(ctx, srv.Key(), "echo", []byte("x"))
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, &Error{Code: CodeOverloaded, Message: msgRateLimited}):
					overloaded.Add(1)
				case errors.Is(err, ErrOverloaded):
					overloaded.Add(1) // a handler slot was busy: also a refusal
				default:
					t.Errorf("flood call: %v (%#v)", err, errors.Unwrap(err))
					return
				}
			}
		})
	}
	// The flooder is held back once credit is parked on its connection; the honest peer's calls
	// then go through at once, none refused.
	floodConn := func() *peerConn {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		for pc := range srv.conns {
			if pc.key == flood.Key() {
				return pc
			}
		}
		return nil
	}
	waitFor(t, 10*time.Second, "credit parked on the flooder's connection", func() bool {
		pc := floodConn()
		return pc != nil && pc.parkedCredits() > 0
	})
	var honestErrs atomic.Int64
	var honestDur []time.Duration
	wg.Go(func() {
		for range honestCalls {
			t0 := time.Now()
			if _, err := honest.Request(ctx, srv.Key(), "echo", []byte("h")); err != nil {
				honestErrs.Add(1)
				t.Errorf("honest call during the flood: %v", err)
			}
			honestDur = append(honestDur, time.Since(t0))
		}
	})
	timer := time.NewTimer(floodFor)
	select {
	case <-timer.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	stop.Store(true)
	elapsed := time.Since(start)
	wg.Wait()
	if honestErrs.Load() != 0 {
		t.Fatalf("%d honest calls failed", honestErrs.Load())
	}
	slices.Sort(honestDur)
	// Every call opened a stream: those answered, those refused. Refused streams give their
	// credit back as tokens accrue, each admitted call takes a token: about twice the rate,
	// plus the burst and the connection's stream credit at the start.
	credit := streamCredit*maxStreams + overloadSlack
	calls := ok.Load() + overloaded.Load()
	maxCalls := int64(float64(burst+credit) + 2*rate*elapsed.Seconds()*1.25 + 1)
	maxOK := int64(burst + rate*elapsed.Seconds() + 1)
	t.Logf("flood by %d callers for %v: %d calls (%.0f/s; limit %d/s, at most %d expected), %d ok (limit %d), %d overloaded; honest p50 %v max %v",
		flooders, elapsed.Round(time.Millisecond), calls, float64(calls)/elapsed.Seconds(), rate, maxCalls, ok.Load(), maxOK,
		overloaded.Load(), honestDur[len(honestDur)/2], honestDur[len(honestDur)-1])
	if ok.Load() > maxOK {
		t.Errorf("%d flood calls answered in %v, the limit allows %d", ok.Load(), elapsed, maxOK)
	}
	if calls > maxCalls {
		t.Errorf("the flooder made %d calls in %v, parked credit should hold it to about %d", calls, elapsed, maxCalls)
	}
	// Calls refused for want of a handler slot took a token too, so fewer than the burst may
	// have been answered; but some must have been.
	if ok.Load() == 0 {
		t.Error("no flood call answered")
	}
	st := srv.Stats()
	if st.RateLimited == 0 {
		t.Error("no call refused by the rate limit")
	}
	if st.RateLimited+st.Overloaded != uint64(overloaded.Load()) {
		t.Errorf("stats %+v, the flooder saw %d refusals", st, overloaded.Load())
	}
	// A rejection by a handler is counted and logged too.
	if _, err := honest.Request(ctx, srv.Key(), "deny", nil); !errors.Is(err, ErrRejected) {
		t.Fatalf("deny: %v", err)
	}
	if got := srv.Stats().Rejected; got != 1 {
		t.Errorf("Rejected = %d, want 1", got)
	}

	// Nothing leaks: every handler slot and stream is back, every parked credit released and the
	// releaser gone, and once the bucket refilled the flooder can make a full burst of calls again
	// (leaked stream credit would block it).
	waitFor(t, 5*time.Second, "the flooder's streams to end and its credit to be released", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		for pc := range srv.conns {
			pc.parkMu.Lock()
			parked, releasing := len(pc.parked), pc.releasing
			pc.parkMu.Unlock()
			if pc.active.Load() != 0 || len(pc.slots) != 0 || parked != 0 || releasing {
				return false
			}
		}
		return true
	})
	// Wait for the bucket: real time, since the endpoint runs outside a synctest bubble.
	refill := time.NewTimer(time.Duration(float64(time.Second) * burst / rate))
	select {
	case <-refill.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	for i := range burst {
		if _, err := flood.Request(ctx, srv.Key(), "echo", nil); err != nil {
			t.Fatalf("call %d after the flood: %v", i, err)
		}
	}

	closeAll()
	elapsed = time.Since(start)
	waitFor(t, 5*time.Second, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= base })

	// The log: the refusals of the flooder in at most one line per second (plus the line written
	// when its connection closed), with their count; the honest peer's rejection logged too.
	floodLines := logBuf.lines(`msg="rpc calls refused"`, "peer="+flood.Key().Short())
	maxLines := int(elapsed/refusalLogInterval) + 2
	if len(floodLines) == 0 || len(floodLines) > maxLines {
		t.Fatalf("%d log lines for the flooder in %v, want 1 to %d:\n%s", len(floodLines), elapsed, maxLines, strings.Join(floodLines, ""))
	}
	if !strings.Contains(floodLines[0], "rpc calls refused") || !strings.Contains(floodLines[0], "level=WARN") {
		t.Errorf("first refusal line: %s", floodLines[0])
	}
	logged := 0
	for _, l := range floodLines {
		for f := range strings.FieldsSeq(l) {
			var n int
			if v, ok := strings.CutPrefix(f, "rate_limited="); ok {
				_, _ = fmtSscan(v, &n)
				logged += n
			}
			if v, ok := strings.CutPrefix(f, "overloaded="); ok {
				_, _ = fmtSscan(v, &n)
				logged += n
			}
		}
	}
	if logged != int(overloaded.Load()) {
		t.Errorf("log lines count %d refusals, the flooder saw %d:\n%s", logged, overloaded.Load(), strings.Join(floodLines, ""))
	}
	honestLines := logBuf.lines(`msg="rpc calls refused"`, "peer="+honest.Key().Short())
	if len(honestLines) != 1 || !strings.Contains(honestLines[0], "rejected=1") || !strings.Contains(honestLines[0], "last_method=deny") {
		t.Errorf("honest peer's log lines: %q", honestLines)
	}
}

// TestCallerRateLimitSharedAcrossConnections checks that the bucket belongs to the peer key, not
// to one connection: a peer that reconnects while another connection of it is up (a duplicate)
// does not get a fresh burst.
func TestCallerRateLimitSharedAcrossConnections(t *testing.T) {
	srv := newEndpoint(t, WithCallerRate(1, 3))
	a := newEndpoint(t)
	a.AddAddr(srv.Key(), srv.Addr())
	srv.mu.Lock()
	srv.mu.Unlock()
	if _, err := a.Request(t.Context(), srv.Key(), "x", nil); !errors.Is(err, ErrUnknownMethod) {
		t.Fatalf("first call: %v", err)
	}
	srv.mu.Lock()
	c := srv.callers[a.Key()]
	srv.mu.Unlock()
	if c == nil {
		t.Fatal("no caller state for a connected peer")
	}
	// A second connection of the same key shares it.
	srv.mu.Lock()
	c2 := srv.acquireCaller(a.Key())
	srv.mu.Unlock()
	if c2 != c {
		t.Fatal("a second connection of one peer got its own bucket")
	}
	srv.releaseCaller(c2)
}

// fmtSscan parses a decimal count from a log field.
func fmtSscan(s string, n *int) (int, error) {
	v := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not a number")
		}
		v = v*10 + int(r-'0')
	}
	*n = v
	return 1, nil
}

// TestParkedCreditReleasedOnClose floods a responder with requests or events until the
// flooder's connection has credit parked and the flooder is blocked on opening streams, then
// closes one side: the parked credit is released, the releaser goroutine ends, the flooder's
// blocked calls return, and the goroutines come back to where they were.
func TestParkedCreditReleasedOnClose(t *testing.T) {
	const (
		rate, burst = 20, 5
		maxStreams  = 2 // QUIC credit: streamCredit*2+overloadSlack = 24 streams of each kind
		flooders    = 8
	)
	tests := []struct {
		name   string
		event  bool
		closer string // "responder" or "caller"
	}{
		{"requests, responder closes", false, "responder"},
		{"requests, caller closes", false, "caller"},
		{"events, responder closes", true, "responder"},
		{"events, caller closes", true, "caller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			srv := newEndpointNoCleanup(t, WithCallerRate(rate, burst), WithMaxStreamsPerPeer(maxStreams))
			srv.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
			// A flooder whose last call succeeded calls again after the responder closed: a short
			// dial timeout ends that call soon.
			flood := newEndpointNoCleanup(t, WithDialTimeout(200*time.Millisecond))
			flood.AddAddr(srv.Key(), srv.Addr())
			closeAll := sync.OnceFunc(func() {
				_ = flood.Close()
				_ = srv.Close()
			})
			t.Cleanup(closeAll)
			ctx := t.Context()
			var wg sync.WaitGroup
			var calls atomic.Int64
			for range flooders {
				wg.Go(func() {
					for {
						var err error
						if tt.event {
							err = flood.Event(ctx, srv.Key(), "echo", []byte("x"))
						} else {
							_, err = flood.Request(ctx, srv.Key(), "echo", []byte("x"))
						}
						calls.Add(1)
						if err != nil && !errors.Is(err, ErrOverloaded) {
							return // the connection or an endpoint closed
						}
					}
				})
			}
			var pc *peerConn
			waitFor(t, 10*time.Second, "the flooder's whole stream credit to be parked or in use", func() bool {
				srv.mu.Lock()
				pc = srv.peers[flood.Key()]
				srv.mu.Unlock()
				// Events end at once on the caller's side, so their whole credit gets parked;
				// requests keep at most one stream per flooder in use.
				want := streamCredit*maxStreams + overloadSlack - flooders
				if tt.event {
					want = streamCredit*maxStreams + overloadSlack
				}
				return pc != nil && pc.parkedCredits() >= want
			})
			// The flooder is blocked: its call count stays near where it is (a release every
			// creditReleaseInterval lets through about rate*interval calls at a time).
			before := calls.Load()
			switch tt.closer {
			case "responder":
				if err := srv.Close(); err != nil {
					t.Fatal(err)
				}
			case "caller":
				if err := flood.Close(); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 5*time.Second, "the responder to release the parked credit", func() bool {
					pc.parkMu.Lock()
					defer pc.parkMu.Unlock()
					return len(pc.parked) == 0 && !pc.releasing
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the flooder's blocked calls did not return after the close")
			}
			closeAll()
			if n := pc.parkedCredits(); n != 0 {
				t.Errorf("%d credits still parked after close", n)
			}
			t.Logf("%d calls before the close", before)
			waitFor(t, 5*time.Second, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= base })
		})
	}
}

// TestRefusalsLoggedWithinInterval: refusals held back by the once-per-interval log limit are
// logged when the interval is over, while the caller stays connected and sends nothing more.
func TestRefusalsLoggedWithinInterval(t *testing.T) {
	var logBuf syncBuffer
	logger := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newEndpoint(t, WithLogger(logger))
	srv.Respond("deny", func(context.Context, *Request) ([]byte, error) { return nil, Reject("no") })
	cli := newEndpoint(t)
	cli.AddAddr(srv.Key(), srv.Addr())
	ctx := t.Context()
	for range 3 {
		if _, err := cli.Request(ctx, srv.Key(), "deny", nil); !errors.Is(err, ErrRejected) {
			t.Fatalf("deny: %v", err)
		}
	}
	lines := func() []string { return logBuf.lines(`msg="rpc calls refused"`, "peer="+cli.Key().Short()) }
	if got := lines(); len(got) != 1 || !strings.Contains(got[0], "rejected=1") {
		t.Fatalf("after three refusals: %q, want one line for the first", got)
	}
	waitFor(t, 5*refusalLogInterval, "the held-back refusals logged", func() bool { return len(lines()) == 2 })
	if got := lines()[1]; !strings.Contains(got, "rejected=2") || !strings.Contains(got, "last_method=deny") {
		t.Fatalf("second line %q, want the other two refusals", got)
	}
	if !cli.Connected(srv.Key()) {
		t.Fatal("the caller's connection closed: the line may come from the close, not the interval")
	}
}
