package rpc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// newEndpoint starts an endpoint on loopback, closed at the end of the test.
func newEndpoint(t testing.TB, opts ...Option) *Endpoint {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Listen(context.Background(), "127.0.0.1:0", priv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

// pair starts two endpoints that know each other's address; b answers "echo".
func pair(t testing.TB, opts ...Option) (a, b *Endpoint) {
	t.Helper()
	a, b = newEndpoint(t, opts...), newEndpoint(t, opts...)
	a.AddAddr(b.Key(), b.Addr())
	b.AddAddr(a.Key(), a.Addr())
	b.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
	return a, b
}

func randomKey(t testing.TB) wire.PeerKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return wire.PeerKey(pub)
}

func TestRequestEchoAndCallerIdentity(t *testing.T) {
	a, b := pair(t)
	type seen struct {
		caller wire.PeerKey
		remote netip.AddrPort
	}
	got := make(chan seen, 1)
	b.Respond("whoami", func(_ context.Context, r *Request) ([]byte, error) {
		got <- seen{r.Caller, r.Remote}
		return r.Caller[:], nil
	})
	resp, err := a.Request(t.Context(), b.Key(), "echo", []byte("hello"))
	if err != nil || string(resp) != "hello" {
		t.Fatalf("echo = %q, %v", resp, err)
	}
	resp, err = a.Request(t.Context(), b.Key(), "whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	ak := a.Key()
	if s.caller != ak || !bytes.Equal(resp, ak[:]) {
		t.Fatalf("handler saw caller %s, want %s", s.caller.Short(), a.Key().Short())
	}
	if s.remote != a.Addr() {
		t.Fatalf("handler saw remote %v, want %v", s.remote, a.Addr())
	}
	if !a.Connected(b.Key()) || a.RTT(b.Key()) <= 0 {
		t.Fatalf("connected=%v rtt=%v", a.Connected(b.Key()), a.RTT(b.Key()))
	}
	if p := a.Peers(); len(p) != 1 || p[0] != b.Key() {
		t.Fatalf("peers = %v", p)
	}
	// Large payloads in both directions.
	big := bytes.Repeat([]byte{7}, DefaultMaxMessageSize)
	resp, err = a.Request(t.Context(), b.Key(), "echo", big)
	if err != nil || !bytes.Equal(resp, big) {
		t.Fatalf("big echo: %d bytes, %v", len(resp), err)
	}
}

func TestWrongKeyDialFails(t *testing.T) {
	a, b := pair(t)
	wrong := randomKey(t)
	a.AddAddr(wrong, b.Addr())
	_, err := a.Request(t.Context(), wrong, "echo", nil)
	var km *KeyMismatchError
	if !errors.As(err, &km) {
		t.Fatalf("err = %v, want *KeyMismatchError", err)
	}
	if km.Want != wrong || km.Got != b.Key() {
		t.Fatalf("mismatch = %+v", km)
	}
	if a.Connected(wrong) {
		t.Fatal("connected to the wrong key")
	}
}

func TestErrors(t *testing.T) {
	a, b := pair(t, WithMaxMessageSize(1000), WithRequestTimeout(2*time.Second))
	big := newEndpoint(t, WithMaxMessageSize(4000))
	big.AddAddr(b.Key(), b.Addr())
	patient := newEndpoint(t, WithMaxMessageSize(1000), WithRequestTimeout(5*time.Second))
	patient.AddAddr(b.Key(), b.Addr())
	b.Respond("reject", func(context.Context, *Request) ([]byte, error) { return nil, Reject("bid too low") })
	b.Respond("fail", func(context.Context, *Request) ([]byte, error) { return nil, errors.New("secret detail") })
	b.Respond("panic", func(context.Context, *Request) ([]byte, error) { panic("boom") })
	b.Respond("busy", func(context.Context, *Request) ([]byte, error) { return nil, ErrOverloaded })
	b.Respond("hang", func(ctx context.Context, _ *Request) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() })
	b.Respond("toolarge", func(context.Context, *Request) ([]byte, error) { return make([]byte, 1001), nil })

	short := func() context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	tests := []struct {
		name    string
		from    *Endpoint
		ctx     func() context.Context
		method  string
		payload []byte
		want    error
		msg     string
	}{
		{"unknown method", a, t.Context, "nope", nil, ErrUnknownMethod, "nope"},
		{"rejected with reason", a, t.Context, "reject", nil, ErrRejected, "bid too low"},
		{"handler error is internal, detail hidden", a, t.Context, "fail", nil, ErrInternal, "internal error"},
		{"handler panic is internal", a, t.Context, "panic", nil, ErrInternal, "internal error"},
		{"handler returns a code", a, t.Context, "busy", nil, ErrOverloaded, ""},
		{"caller deadline", a, short, "hang", nil, ErrTimeout, ""},
		{"default deadline of the responder", patient, t.Context, "hang", nil, ErrTimeout, "handler deadline passed"},
		{"response over the limit", a, t.Context, "toolarge", nil, ErrInternal, "response too large"},
		{"payload over the local limit", a, t.Context, "echo", make([]byte, 1001), ErrBadRequest, ""},
		{"payload over the remote limit", big, t.Context, "echo", make([]byte, 1500), ErrBadRequest, ""},
		{"invalid method", a, t.Context, "no spaces", nil, ErrBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.from.Request(tt.ctx(), b.Key(), tt.method, tt.payload)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err %T is not *Error", err)
			}
			if tt.msg != "" && re.Message != tt.msg {
				t.Fatalf("message %q, want %q", re.Message, tt.msg)
			}
			if tt.msg == "secret detail" || strings.Contains(re.Message, "secret") {
				t.Fatal("internal detail leaked")
			}
		})
	}
	_, err := a.Request(short(), b.Key(), "hang", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout does not match context.DeadlineExceeded: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := a.Request(ctx, b.Key(), "echo", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
}

func TestDefaultDeadlineApplies(t *testing.T) {
	a := newEndpoint(t, WithRequestTimeout(300*time.Millisecond))
	b := newEndpoint(t) // answers after 10 s at the earliest
	a.AddAddr(b.Key(), b.Addr())
	b.Respond("hang", func(ctx context.Context, _ *Request) ([]byte, error) { <-ctx.Done(); return nil, ctx.Err() })
	start := time.Now()
	_, err := a.Request(context.Background(), b.Key(), "hang", nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// rawStream opens a QUIC stream from a to b by hand, to send bytes no honest client sends.
func rawStream(t *testing.T, a *Endpoint, b wire.PeerKey) interface {
	Write([]byte) (int, error)
	Read([]byte) (int, error)
	Close() error
} {
	t.Helper()
	pc, err := a.getConn(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pc.qc.OpenStreamSync(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	return s
}

func TestMisbehavingStreams(t *testing.T) {
	a, b := pair(t, WithRequestTimeout(500*time.Millisecond))
	tests := []struct {
		name   string
		send   []byte
		finish bool
		want   wire.RPCStatus
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n"), true, wire.StatusBadRequest},
		{"oversized length prefix", []byte{0xff, 0xff, 0xff, 0xff, 1, 'a'}, false, wire.StatusBadRequest},
		{"truncated frame", []byte{0, 0, 0, 9, 4, 'e'}, true, wire.StatusBadRequest},
		{"trailing bytes", []byte{0, 0, 0, 5, 4, 'e', 'c', 'h', 'o', 'X'}, true, wire.StatusBadRequest},
		{"never finishes", []byte{0, 0, 0, 9, 4, 'e'}, false, wire.StatusTimeout},
		{"valid frame never closed", []byte{0, 0, 0, 5, 4, 'e', 'c', 'h', 'o'}, false, wire.StatusTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rawStream(t, a, b.Key())
			if _, err := s.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			if tt.finish {
				_ = s.Close()
			}
			var all []byte
			buf := make([]byte, 256)
			for {
				n, err := s.Read(buf)
				all = append(all, buf[:n]...)
				if err != nil {
					break
				}
			}
			st, msg, err := wire.UnmarshalRPCResponseFrame(all, DefaultMaxMessageSize)
			if err != nil {
				t.Fatalf("response %x: %v", all, err)
			}
			if st != tt.want {
				t.Fatalf("status %d (%s), want %d", st, msg, tt.want)
			}
			// The connection still serves honest calls.
			if resp, err := a.Request(t.Context(), b.Key(), "echo", []byte("ok")); err != nil || string(resp) != "ok" {
				t.Fatalf("echo after %s: %q %v", tt.name, resp, err)
			}
		})
	}
}

func TestOverloaded(t *testing.T) {
	a, b := pair(t, WithMaxStreamsPerPeer(2))
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	b.Respond("block", func(ctx context.Context, _ *Request) ([]byte, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return []byte("done"), nil
	})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := a.Request(t.Context(), b.Key(), "block", nil)
			errs <- err
		})
	}
	<-entered
	<-entered
	_, err := a.Request(t.Context(), b.Key(), "echo", nil)
	if !errors.Is(err, ErrOverloaded) {
		t.Fatalf("third call: %v, want overloaded", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Request(t.Context(), b.Key(), "echo", nil); err != nil {
		t.Fatalf("after the burst: %v", err)
	}
}

func TestEventDelivery(t *testing.T) {
	a, b := pair(t)
	type ev struct {
		from    wire.PeerKey
		payload string
	}
	got := make(chan ev, 10)
	b.Respond("bid", func(_ context.Context, r *Request) ([]byte, error) {
		got <- ev{r.Caller, string(r.Payload)}
		return nil, errors.New("ignored")
	})
	for i := range 3 {
		if err := a.Event(t.Context(), b.Key(), "bid", []byte{'0' + byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for range 3 {
		select {
		case e := <-got:
			if e.from != a.Key() {
				t.Fatalf("event from %s", e.from.Short())
			}
			seen[e.payload] = true
		case <-time.After(5 * time.Second):
			t.Fatal("event not delivered")
		}
	}
	if len(seen) != 3 {
		t.Fatalf("seen %v", seen)
	}
}

func TestSimultaneousDialConverges(t *testing.T) {
	duplicates := 0
	for i := range 5 {
		a, b := pair(t)
		a.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := a.Connect(t.Context(), b.Key(), b.Addr()); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := b.Connect(t.Context(), a.Key(), a.Addr()); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		a.mu.Lock()
		if a.seq > 1 {
			duplicates++
		}
		a.mu.Unlock()
		// Calls in both directions work while the duplicate (if any) drains.
		for range 20 {
			if _, err := a.Request(t.Context(), b.Key(), "echo", []byte("x")); err != nil {
				t.Fatalf("round %d a->b: %v", i, err)
			}
			if _, err := b.Request(t.Context(), a.Key(), "echo", []byte("y")); err != nil {
				t.Fatalf("round %d b->a: %v", i, err)
			}
		}
		// One side's Connect may find the other's connection already up and dial nothing: then
		// that connection stays. When both dialed, both keep the one dialed by the smaller key.
		smaller, other := a.Key(), b.Key()
		if bytes.Compare(other[:], smaller[:]) < 0 {
			smaller = other
		}
		a.mu.Lock()
		b.mu.Lock()
		bothDialed := a.seq > 1 || b.seq > 1
		initiator := smaller
		if pc := a.peers[b.Key()]; pc != nil && !bothDialed {
			initiator = pc.initiator
		}
		b.mu.Unlock()
		a.mu.Unlock()
		waitForOr(t, 5*time.Second, func() bool {
			return oneConn(a, b.Key(), initiator) && oneConn(b, a.Key(), initiator)
		}, func() string {
			return fmt.Sprintf("one connection on each side (smaller %s):\na %s: %s\nb %s: %s",
				smaller.Short(), a.Key().Short(), connDump(a, b.Key()), b.Key().Short(), connDump(b, a.Key()))
		})
	}
	t.Logf("%d of 5 rounds made a duplicate connection", duplicates)
}

// oneConn reports whether e holds exactly one connection, to peer, dialed by initiator.
func oneConn(e *Endpoint, peer, initiator wire.PeerKey) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	pc := e.peers[peer]
	return len(e.conns) == 1 && pc != nil && pc.initiator == initiator
}

// connDump describes e's connections, for a failure message: for each, who dialed it, its
// creation order, whether it is the one in use to peer, lost as a duplicate, closed, and busy.
func connDump(e *Endpoint, peer wire.PeerKey) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var parts []string
	for pc := range e.conns {
		parts = append(parts, fmt.Sprintf("{seq %d by %s inuse %v lost %v closed %v active %d}",
			pc.seq, pc.initiator.Short(), e.peers[peer] == pc, pc.lost.Load(), context.Cause(pc.qc.Context()), pc.active.Load()))
	}
	return strings.Join(parts, " ")
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	waitForOr(t, d, cond, func() string { return what })
}

// waitForOr is waitFor with the failure message made at the deadline.
func waitForOr(t *testing.T, d time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what())
		case <-tick.C:
		}
	}
}

func TestConnectDisconnectAndRedial(t *testing.T) {
	a, b := pair(t)
	connected := make(chan wire.PeerKey, 4)
	disconnected := make(chan error, 4)
	a.OnConnect(func(k wire.PeerKey, _ netip.AddrPort) { connected <- k })
	a.OnDisconnect(func(_ wire.PeerKey, err error) { disconnected <- err })
	if _, err := a.Request(t.Context(), b.Key(), "echo", nil); err != nil {
		t.Fatal(err)
	}
	if k := recv(t, connected); k != b.Key() {
		t.Fatal("connect event for the wrong key")
	}
	b.Disconnect(a.Key()) // the remote side drops the connection
	if err := recv(t, disconnected); err == nil {
		t.Fatal("remote close reported as a local one")
	}
	if a.Connected(b.Key()) {
		t.Fatal("still connected")
	}
	if resp, err := a.Request(t.Context(), b.Key(), "echo", []byte("again")); err != nil || string(resp) != "again" {
		t.Fatalf("redial: %q %v", resp, err)
	}
	recv(t, connected)
	a.Disconnect(b.Key())
	if err := recv(t, disconnected); err != nil {
		t.Fatalf("local disconnect reported %v", err)
	}
}

func recv[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a callback")
		panic("unreachable")
	}
}

func TestResolver(t *testing.T) {
	b := newEndpoint(t)
	b.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
	asked := make(chan wire.PeerKey, 1)
	a := newEndpoint(t, WithResolver(func(_ context.Context, k wire.PeerKey) ([]netip.AddrPort, error) {
		asked <- k
		return []netip.AddrPort{b.Addr()}, nil
	}))
	if _, err := a.Request(t.Context(), b.Key(), "echo", nil); err != nil {
		t.Fatal(err)
	}
	if k := <-asked; k != b.Key() {
		t.Fatal("resolver asked for the wrong key")
	}
	lone := newEndpoint(t)
	if _, err := lone.Request(t.Context(), b.Key(), "echo", nil); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("no address: %v", err)
	}
	if _, err := lone.Request(t.Context(), lone.Key(), "echo", nil); !errors.Is(err, ErrSelf) {
		t.Fatalf("self: %v", err)
	}
}

func TestKeepAliveOutlivesIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	a, b := pair(t, WithIdleTimeout(idle), WithKeepAlive(100*time.Millisecond))
	down := make(chan error, 1)
	a.OnDisconnect(func(_ wire.PeerKey, err error) { down <- err })
	if _, err := a.Request(t.Context(), b.Key(), "echo", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-down:
		t.Fatalf("idle connection dropped: %v", err)
	case <-time.After(5 * idle):
	}
	if !a.Connected(b.Key()) || !b.Connected(a.Key()) {
		t.Fatal("not connected after 5 idle timeouts")
	}
}

func TestNonQUICPassthrough(t *testing.T) {
	a, b := pair(t)
	plain, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	msg := []byte{0x01, 'd', 'h', 't'}
	if _, err := plain.WriteToUDPAddrPort(msg, b.Addr()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	buf := make([]byte, 1500)
	n, from, err := b.ReadNonQUICPacket(ctx, buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], msg) || udpAddrPort(from) != plain.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("read %x from %v", buf[:n], from)
	}
	reply := []byte{0x02, 'o', 'k'}
	if _, err := b.WriteTo(reply, from); err != nil {
		t.Fatal(err)
	}
	_ = plain.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err = plain.ReadFromUDPAddrPort(buf)
	if err != nil || !bytes.Equal(buf[:n], reply) {
		t.Fatalf("plain socket got %x, %v", buf[:n], err)
	}
	if _, err := b.WriteTo([]byte{0x40}, from); !errors.Is(err, ErrNotNonQUIC) {
		t.Fatalf("QUIC-looking datagram: %v", err)
	}
	// QUIC keeps working on the same socket.
	if resp, err := a.Request(t.Context(), b.Key(), "echo", []byte("q")); err != nil || string(resp) != "q" {
		t.Fatalf("echo: %q %v", resp, err)
	}
}

func TestCloseFailsCallsAndLeaksNothing(t *testing.T) {
	base := runtime.NumGoroutine()
	func() {
		a := newEndpointNoCleanup(t)
		b := newEndpointNoCleanup(t)
		a.AddAddr(b.Key(), b.Addr())
		b.AddAddr(a.Key(), a.Addr())
		entered := make(chan struct{})
		b.Respond("hang", func(ctx context.Context, _ *Request) ([]byte, error) {
			close(entered)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		b.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
		a.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
		for range 10 {
			if _, err := a.Request(t.Context(), b.Key(), "echo", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := b.Event(t.Context(), a.Key(), "echo", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() { _, err := a.Request(t.Context(), b.Key(), "hang", nil); done <- err }()
		<-entered
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("call in flight at Close: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Request(t.Context(), b.Key(), "echo", nil); !errors.Is(err, ErrClosed) {
			t.Fatalf("after Close: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
	}()
	waitFor(t, 5*time.Second, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= base })
}

func newEndpointNoCleanup(t *testing.T, opts ...Option) *Endpoint {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	e, err := Listen(context.Background(), "127.0.0.1:0", priv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOptionsValidated(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	for _, o := range []Option{
		WithRequestTimeout(0),
		WithKeepAlive(20 * time.Second),
		WithKeepAlive(0),
		WithIdleTimeout(time.Second),
		WithMaxStreamsPerPeer(0),
		WithMaxMessageSize(MaxMessageSize + 1),
		WithCallerRate(-1, 10),
		WithCallerRate(100, 0),
	} {
		if e, err := Listen(t.Context(), "127.0.0.1:0", priv, o); err == nil {
			e.Close()
			t.Fatal("invalid option accepted")
		}
	}
}

// TestDuplicateConnectionDrains forces two connections between a pair: the one dialed by the
// larger key loses on both sides, yet a call in flight on it completes before it is closed.
func TestDuplicateConnectionDrains(t *testing.T) {
	a, b := pair(t)
	small, big := a, b
	sk, bk := a.Key(), b.Key()
	if bytes.Compare(sk[:], bk[:]) > 0 {
		small, big = b, a
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	small.Respond("slow", func(ctx context.Context, _ *Request) ([]byte, error) {
		close(entered)
		select {
		case <-release:
			return []byte("finished"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	small.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
	if _, err := big.dial(small.Key()); err != nil { // the losing connection, dialed first
		t.Fatal(err)
	}
	slow := make(chan error, 1)
	go func() {
		resp, err := big.Request(t.Context(), small.Key(), "slow", nil)
		if err == nil && string(resp) != "finished" {
			err = errors.New("wrong answer " + string(resp))
		}
		slow <- err
	}()
	<-entered
	if _, err := small.dial(big.Key()); err != nil { // the winning connection
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "both sides to switch to the winner", func() bool {
		big.mu.Lock()
		defer big.mu.Unlock()
		pc := big.peers[small.Key()]
		return pc != nil && pc.initiator == small.Key()
	})
	for range 10 {
		if _, err := big.Request(t.Context(), small.Key(), "echo", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatalf("call in flight on the losing connection: %v", err)
	}
	waitFor(t, 5*time.Second, "the loser to close", func() bool {
		return oneConn(small, big.Key(), small.Key()) && oneConn(big, small.Key(), small.Key())
	})
}

// TestLimitsUnderBurst checks the per-peer byte budget and a burst beyond QUIC's stream credit:
// every call ends with an answer or CodeOverloaded, none hangs.
func TestLimitsUnderBurst(t *testing.T) {
	t.Run("byte budget", func(t *testing.T) {
		a, b := pair(t, WithMaxMessageSize(1000), WithMaxPeerBytes(wire.RPCRequestBodyMax(1000)))
		entered := make(chan struct{})
		release := make(chan struct{})
		b.Respond("hold", func(context.Context, *Request) ([]byte, error) {
			close(entered)
			<-release
			return nil, nil
		})
		done := make(chan error, 1)
		go func() { _, err := a.Request(t.Context(), b.Key(), "hold", make([]byte, 1000)); done <- err }()
		<-entered
		if _, err := a.Request(t.Context(), b.Key(), "echo", make([]byte, 1000)); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("second large call: %v, want overloaded", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := a.Request(t.Context(), b.Key(), "echo", make([]byte, 1000)); err != nil {
			t.Fatalf("after release: %v", err)
		}
	})
	t.Run("stream credit", func(t *testing.T) {
		a, b := pair(t, WithMaxStreamsPerPeer(1))
		release := make(chan struct{})
		b.Respond("hold", func(ctx context.Context, _ *Request) ([]byte, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return []byte("ok"), nil
		})
		const calls = 3 * (streamCredit + overloadSlack) // well beyond the peer's QUIC stream limit
		errs := make(chan error, calls)
		var wg sync.WaitGroup
		for range calls {
			wg.Go(func() {
				_, err := a.Request(t.Context(), b.Key(), "hold", nil)
				errs <- err
			})
		}
		waitFor(t, 5*time.Second, "the burst to be refused or held", func() bool { return len(errs) >= calls-streamCredit-overloadSlack })
		close(release)
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrOverloaded):
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok == 0 {
			t.Fatal("no call got through")
		}
	})
}

// muteConn drops every datagram written once muted: an endpoint closed while muted vanishes
// without telling its peers, as a crashed process does.
type muteConn struct {
	net.PacketConn
	muted atomic.Bool
}

func (c *muteConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.muted.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// TestRestartedPeerReplacesConnection: a peer that crashed (no close reached its peers) and
// came back on the same address with the same key dials a peer that still holds the dead
// connection. That connection was dialed by the smaller key, so the duplicate rule alone would
// keep it; it is replaced at once instead, the callbacks see the peer go (ErrRestarted) and
// come back, and calls reach the new run.
func TestRestartedPeerReplacesConnection(t *testing.T) {
	small := newEndpoint(t) // stays up
	sk := small.Key()
	var bigPriv ed25519.PrivateKey // the key that restarts: larger than small's
	for bk := (wire.PeerKey{}); bigPriv == nil || bytes.Compare(sk[:], bk[:]) > 0; bk = wire.KeyOf(bigPriv) {
		_, bigPriv, _ = ed25519.GenerateKey(rand.Reader)
	}
	mute := &muteConn{}
	big1, err := Listen(t.Context(), "127.0.0.1:0", bigPriv, WithPacketConnWrapper(func(c net.PacketConn) net.PacketConn {
		mute.PacketConn = c
		return mute
	}))
	if err != nil {
		t.Fatal(err)
	}
	addr := big1.Addr()
	bk := big1.Key()
	type event struct {
		connect bool
		err     error
	}
	events := make(chan event, 16)
	small.OnConnect(func(k wire.PeerKey, _ netip.AddrPort) {
		if k == bk {
			events <- event{connect: true}
		}
	})
	small.OnDisconnect(func(k wire.PeerKey, err error) {
		if k == bk {
			events <- event{err: err}
		}
	})
	small.AddAddr(bk, addr)
	if _, err := small.dial(bk); err != nil { // the connection the duplicate rule favours
		t.Fatal(err)
	}
	if ev := <-events; !ev.connect {
		t.Fatalf("first event %+v, want connect", ev)
	}
	mute.muted.Store(true)
	if err := big1.Close(); err != nil { // a crash: the close never reaches small
		t.Fatal(err)
	}
	big2, err := Listen(t.Context(), addr.String(), bigPriv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { big2.Close() })
	big2.Respond("echo", func(_ context.Context, r *Request) ([]byte, error) { return r.Payload, nil })
	big2.AddAddr(sk, small.Addr())
	if _, err := big2.dial(sk); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for _, want := range []event{{err: ErrRestarted}, {connect: true}} {
		select {
		case ev := <-events:
			if ev.connect != want.connect || !errors.Is(ev.err, want.err) {
				t.Fatalf("event %+v, want %+v", ev, want)
			}
		case <-deadline:
			t.Fatalf("no event %+v: small still holds the dead connection", want)
		}
	}
	small.mu.Lock()
	pc := small.peers[bk]
	small.mu.Unlock()
	if pc == nil || pc.initiator != bk {
		t.Fatal("small does not use the restarted peer's connection")
	}
	if resp, err := small.Request(t.Context(), bk, "echo", []byte("new run")); err != nil || string(resp) != "new run" {
		t.Fatalf("call to the restarted peer: %q, %v", resp, err)
	}
	waitFor(t, 5*time.Second, "the dead connection to close", func() bool { return oneConn(small, bk, bk) })
}
