package faultnet

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

const testTimeout = 10 * time.Second

// udp opens a real UDP socket on loopback.
func udp(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wrapped(t *testing.T, n *Network) *Conn {
	t.Helper()
	c := n.WrapConn(udp(t))
	t.Cleanup(func() { c.Close() })
	return c
}

func apOf(c net.PacketConn) netip.AddrPort { a, _ := addrPort(c.LocalAddr()); return a }

// receiver reads numbered packets (8-byte big-endian sequence numbers) from c until it is
// closed, and hands them out on a channel.
func receiver(t *testing.T, c net.PacketConn) <-chan uint64 {
	t.Helper()
	out := make(chan uint64, 4096)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		buf := make([]byte, 2048)
		for {
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if k >= 8 {
				out <- binary.BigEndian.Uint64(buf[:8])
			}
		}
	}()
	t.Cleanup(func() { c.Close(); wg.Wait() })
	return out
}

func send(t *testing.T, c net.PacketConn, to net.PacketConn, seq uint64) {
	t.Helper()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	if _, err := c.WriteTo(b[:], to.LocalAddr()); err != nil {
		t.Fatalf("write %d: %v", seq, err)
	}
}

// next waits for the next packet, failing after testTimeout.
func next(t *testing.T, ch <-chan uint64) uint64 {
	t.Helper()
	select {
	case s, ok := <-ch:
		if !ok {
			t.Fatal("receiver closed")
		}
		return s
	case <-time.After(testTimeout):
		t.Fatal("no packet within the timeout")
	}
	return 0
}

// marker is a sequence number no test sends as data.
const marker = math.MaxUint64

// window bounds the packets sent before the receiver catches up, so that the real socket's
// receive buffer never overflows (which would be a loss the fault model did not make).
const window = 25

// exchange sends packets first..first+count-1 from → to through the fault model, in windows:
// after each window a marker from an unwrapped socket follows. On loopback a send enqueues the
// datagram at the receiver before it returns, so once the marker is read every packet written
// before it without delay has been read too. It returns the data packets received.
func exchange(t *testing.T, from, to net.PacketConn, ch <-chan uint64, first, count uint64) []uint64 {
	t.Helper()
	plain := udp(t)
	var got []uint64
	for w := first; w < first+count; w += window {
		for i := w; i < min(w+window, first+count); i++ {
			send(t, from, to, i)
		}
		send(t, plain, to, marker)
		for s := next(t, ch); s != marker; s = next(t, ch) {
			got = append(got, s)
		}
	}
	return got
}

func TestPerfectLinkPassesEverythingInOrder(t *testing.T) {
	n := New(1)
	a, b := wrapped(t, n), wrapped(t, n)
	ch := receiver(t, b)
	got := exchange(t, a, b, ch, 0, 200)
	if len(got) != 200 || !slices.IsSorted(got) {
		t.Fatalf("got %d packets (sorted %v), want 200 in order", len(got), slices.IsSorted(got))
	}
	if s := n.Stats(); s.Sent != 200 || s.Delivered != 200 || s.Lost+s.Blocked+s.Delayed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLoss(t *testing.T) {
	tests := []struct {
		loss     float64
		min, max int // packets of 400 delivered
	}{
		{0, 400, 400},
		{1, 0, 0},
		{0.25, 250, 350},
	}
	for _, tc := range tests {
		n := New(7, WithFaults(Faults{Loss: tc.loss}))
		a, b := wrapped(t, n), wrapped(t, n)
		ch := receiver(t, b)
		got := exchange(t, a, b, ch, 0, 400)
		if len(got) < tc.min || len(got) > tc.max {
			t.Errorf("loss %v: %d of 400 delivered, want %d..%d", tc.loss, len(got), tc.min, tc.max)
		}
		if s := n.Stats(); int(s.Lost) != 400-len(got) {
			t.Errorf("loss %v: Stats.Lost = %d, want %d", tc.loss, s.Lost, 400-len(got))
		}
	}
}

// trace runs a fixed packet sequence over three sockets of a fresh Network and returns its
// decisions in order.
func trace(t *testing.T, seed uint64, f Faults) []Decision {
	t.Helper()
	var mu sync.Mutex
	var ds []Decision
	n := New(seed, WithFaults(f), WithTrace(func(d Decision) { mu.Lock(); ds = append(ds, d); mu.Unlock() }))
	t.Cleanup(func() { n.Close() })
	a, b, c := n.WrapConn(udp(t)), n.WrapConn(udp(t)), n.WrapConn(udp(t))
	for i := range uint64(300) {
		send(t, a, b, i)
		if i%3 == 0 {
			send(t, b, c, i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	out := slices.Clone(ds)
	for i := range out { // addresses differ between runs; ordinals do not
		out[i].From, out[i].To = netip.AddrPort{}, netip.AddrPort{}
	}
	return out
}

func TestDecisionsArePureFunctionOfSeed(t *testing.T) {
	f := Faults{Loss: 0.3, Delay: time.Millisecond, Jitter: 2 * time.Millisecond, Reorder: 0.2,
		ReorderDelay: 3 * time.Millisecond, Duplicate: 0.1}
	one, two := trace(t, 42, f), trace(t, 42, f)
	if !slices.Equal(one, two) {
		t.Fatal("two runs with one seed made different decisions")
	}
	if other := trace(t, 43, f); slices.Equal(one, other) {
		t.Fatal("two seeds made the same decisions")
	}
	// The k-th packet of a link draws the same numbers whatever happens on other links: the
	// a→b decisions alone are the same when b→c is quiet.
	var solo []Decision
	n := New(42, WithFaults(f), WithTrace(func(d Decision) { solo = append(solo, d) }))
	t.Cleanup(func() { n.Close() })
	a, b := n.WrapConn(udp(t)), n.WrapConn(udp(t))
	for i := range uint64(300) {
		send(t, a, b, i)
	}
	var ab []Decision
	for _, d := range one {
		if d.Link == [2]uint64{1, 2} {
			ab = append(ab, d)
		}
	}
	for i := range solo {
		solo[i].From, solo[i].To = netip.AddrPort{}, netip.AddrPort{}
	}
	if !slices.Equal(ab, solo) {
		t.Fatal("decisions of one link depend on traffic on another")
	}
}

func TestDelayAndJitter(t *testing.T) {
	const delay, jitter = 40 * time.Millisecond, 20 * time.Millisecond
	n := New(3, WithFaults(Faults{Delay: delay, Jitter: jitter}))
	a, b := wrapped(t, n), wrapped(t, n)
	ch := receiver(t, b)
	start := time.Now()
	for i := range uint64(20) {
		send(t, a, b, i)
	}
	for range 20 {
		next(t, ch)
	}
	if el := time.Since(start); el < delay {
		t.Fatalf("20 packets arrived within %v, before the %v delay", el, delay)
	}
	waitFor(t, "20 delayed packets counted", func() bool { s := n.Stats(); return s.Delayed == 20 && s.Delivered == 20 })
}

func TestReorder(t *testing.T) {
	n := New(5, WithFaults(Faults{Reorder: 0.3, ReorderDelay: 30 * time.Millisecond}))
	a, b := wrapped(t, n), wrapped(t, n)
	ch := receiver(t, b)
	const total = 40
	for i := range uint64(total) {
		send(t, a, b, i)
	}
	var got []uint64
	for range total {
		got = append(got, next(t, ch))
	}
	if slices.IsSorted(got) {
		t.Fatal("no packet was reordered")
	}
	sorted := slices.Sorted(slices.Values(got))
	for i, s := range sorted {
		if s != uint64(i) {
			t.Fatalf("packet %d missing or duplicated: %v", i, sorted)
		}
	}
	if s := n.Stats(); s.Reordered == 0 || s.Reordered == total {
		t.Fatalf("Reordered = %d, want some of %d", s.Reordered, total)
	}
}

func TestDuplicate(t *testing.T) {
	n := New(9, WithFaults(Faults{Duplicate: 1}))
	a, b := wrapped(t, n), wrapped(t, n)
	ch := receiver(t, b)
	count := map[uint64]int{}
	for _, s := range exchange(t, a, b, ch, 0, 50) {
		count[s]++
	}
	for i := range uint64(50) {
		if count[i] != 2 {
			t.Fatalf("packet %d arrived %d times, want 2", i, count[i])
		}
	}
}

func TestPartitionIsolateHeal(t *testing.T) {
	n := New(11)
	a, b, c := wrapped(t, n), wrapped(t, n), wrapped(t, n)
	chB, chC := receiver(t, b), receiver(t, c)
	plain := udp(t) // an unwrapped sender, like a bootstrap node

	n.Partition([]netip.AddrPort{a.Addr()}, []netip.AddrPort{b.Addr(), c.Addr()})
	if !n.Blocks(a.Addr(), b.Addr()) || n.Blocks(b.Addr(), c.Addr()) {
		t.Fatal("Blocks disagrees with the partition")
	}
	send(t, a, b, 1)                   // across: blocked on send
	send(t, b, c, 2)                   // within: passes
	if got := next(t, chC); got != 2 { // proves 2 passed
		t.Fatalf("c got %d, want 2", got)
	}
	n.Heal()
	send(t, a, b, 3)
	if got := next(t, chB); got != 3 { // 1 never arrived: 3 is the first b sees
		t.Fatalf("b got %d first, want 3 (1 should have been blocked)", got)
	}

	n.Isolate(b.Addr())
	send(t, a, b, 4)
	send(t, plain, b, 5) // unwrapped sender: blocked on receive
	waitFor(t, "b's reader drops 5", func() bool { return n.Stats().RecvBlock >= 1 })
	n.Heal()
	send(t, a, b, 6)
	if got := next(t, chB); got != 6 {
		t.Fatalf("b got %d, want 6 (4 and 5 should have been blocked)", got)
	}
	if s := n.Stats(); s.Blocked != 2 || s.RecvBlock < 1 {
		t.Fatalf("stats %+v, want 2 blocked on send and 1 on receive", s)
	}
}

func TestPerLinkFaults(t *testing.T) {
	n := New(13)
	a, b, c := wrapped(t, n), wrapped(t, n), wrapped(t, n)
	chB, chC := receiver(t, b), receiver(t, c)
	if err := n.SetLink(a.Addr(), b.Addr(), Faults{Loss: 1}); err != nil {
		t.Fatal(err)
	}
	send(t, a, b, 1)
	send(t, a, c, 2)
	if got := next(t, chC); got != 2 {
		t.Fatalf("c got %d, want 2", got)
	}
	n.ClearLinks()
	send(t, a, b, 3)
	if got := next(t, chB); got != 3 {
		t.Fatalf("b got %d, want 3 (1 should have been lost)", got)
	}
}

func TestInvalidFaults(t *testing.T) {
	bad := []Faults{
		{Loss: -0.1}, {Loss: 1.5}, {Loss: math.NaN()}, {Duplicate: 2}, {Reorder: -1},
		{Delay: -time.Millisecond}, {Jitter: MaxDelay + 1}, {ReorderDelay: time.Hour},
	}
	n := New(1)
	for _, f := range bad {
		if err := n.SetDefault(f); !errors.Is(err, ErrInvalidFaults) {
			t.Errorf("SetDefault(%+v) = %v, want ErrInvalidFaults", f, err)
		}
		if err := n.SetLink(netip.AddrPort{}, netip.AddrPort{}, f); !errors.Is(err, ErrInvalidFaults) {
			t.Errorf("SetLink(%+v) = %v, want ErrInvalidFaults", f, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New with invalid faults did not panic")
		}
	}()
	New(1, WithFaults(bad[0]))
}

func TestCloseDropsDelayedPacketsAndStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	n := New(17, WithFaults(Faults{Delay: MaxDelay}))
	a := n.WrapConn(udp(t))
	b := udp(t)
	for i := range uint64(10) {
		send(t, a, b, i)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
	if _, err := a.WriteTo([]byte("x"), b.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Close = %v, want net.ErrClosed", err)
	}
	c := n.WrapConn(udp(t))
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo([]byte("x"), b.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteTo after Network.Close = %v, want net.ErrClosed", err)
	}
	deadline := time.Now().Add(testTimeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after Close", before, runtime.NumGoroutine())
		}
		runtime.Gosched()
	}
	if s := n.Stats(); s.Delivered != 0 {
		t.Fatalf("%d delayed packets delivered after Close", s.Delivered)
	}
}

func TestNoOptionalSocketInterfaces(t *testing.T) {
	var c any = New(1).WrapConn(udp(t))
	if _, ok := c.(interface {
		ReadMsgUDP([]byte, []byte) (int, int, int, *net.UDPAddr, error)
	}); ok {
		t.Fatal("Conn implements ReadMsgUDP: quic-go would bypass the fault model")
	}
	if _, ok := c.(interface {
		SyscallConn() (syscall.RawConn, error)
	}); ok {
		t.Fatal("Conn implements SyscallConn")
	}
	if _, ok := c.(*net.UDPConn); ok {
		t.Fatal("Conn is a *net.UDPConn")
	}
	if err := c.(*Conn).SetReadBuffer(1 << 20); err != nil {
		t.Fatalf("SetReadBuffer not forwarded: %v", err)
	}
	c.(*Conn).Close()
}

// waitFor polls cond until it holds, failing after testTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(testTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: never happened", what)
		}
	}
}

// TestCloseForgetsLinks: a closed socket's link streams are dropped, so a long run with restarts
// (a new socket, a new ordinal, every time) keeps only the links of the sockets still open.
func TestCloseForgetsLinks(t *testing.T) {
	n := New(5)
	t.Cleanup(func() { n.Close() })
	stay := n.WrapConn(udp(t))
	links := func() int { n.mu.Lock(); defer n.mu.Unlock(); return len(n.links) }
	for i := range uint64(50) {
		c := n.WrapConn(udp(t))
		send(t, c, stay, i)
		send(t, stay, c, i)
		if got := links(); got != 2 {
			t.Fatalf("restart %d: %d links with two sockets talking, want 2", i, got)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if got := links(); got != 0 {
			t.Fatalf("restart %d: %d links after the peer socket closed, want 0", i, got)
		}
	}
}
