package rpc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/dht"
	"github.com/auction-tui/auction-tui/peer/faultnet"
)

// quietQUIC drops the QUIC packets an endpoint writes while set, and passes its other datagrams
// (the DHT's): a peer whose path answers pings but whose handshakes never complete, as a peer
// too loaded to finish them would look.
type quietQUIC struct {
	net.PacketConn
	quiet atomic.Bool
}

func (c *quietQUIC) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.quiet.Load() && len(b) > 0 && b[0]&0x40 != 0 { // QUIC's fixed bit; DHT datagrams clear it
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// probedPeer is an endpoint with a DHT node on its socket, probing slow dials with DHT pings as
// the engine does. probeFailed receives once per unanswered probe.
type probedPeer struct {
	*Endpoint
	probeFailed chan struct{}
}

func newProbedPeer(t *testing.T, opts ...Option) probedPeer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var node atomic.Pointer[dht.Node]
	p := probedPeer{probeFailed: make(chan struct{}, 64)}
	probe := func(ctx context.Context, addr netip.AddrPort) error {
		n := node.Load()
		if n == nil {
			return errors.New("no DHT yet")
		}
		_, err := n.Ping(ctx, addr, 0)
		if err != nil {
			select {
			case p.probeFailed <- struct{}{}:
			default:
			}
		}
		return err
	}
	ep, err := Listen(t.Context(), "127.0.0.1:0", priv, append(opts, WithProbe(probe))...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := dht.New(priv, ep)
	if err != nil {
		t.Fatal(err)
	}
	node.Store(n)
	t.Cleanup(func() {
		n.Close()
		ep.Close()
	})
	p.Endpoint = ep
	return p
}

// TestDialStartsOverWhenPathReturns: a dial sent into a partition starts its handshake over once
// its probes show the path is back, instead of waiting for QUIC to resend its Initial; a dial
// whose path never comes back, or whose probes are answered throughout (a slow handshake), is
// never started over.
func TestDialStartsOverWhenPathReturns(t *testing.T) {
	cases := []struct {
		name         string
		heal         bool // heal the partition after the first unanswered probe
		quiet        bool // no partition: the callee's QUIC packets are dropped, its pings answered
		wantRestarts uint64
		wantConnect  bool
	}{
		{name: "healed", heal: true, wantRestarts: 1, wantConnect: true},
		{name: "cut throughout", wantRestarts: 0},
		{name: "slow handshake", quiet: true, wantRestarts: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fn := faultnet.New(1)
			t.Cleanup(func() { fn.Close() })
			quiet := &quietQUIC{}
			quiet.quiet.Store(tc.quiet)
			const dialTimeout = 1500 * time.Millisecond
			a := newProbedPeer(t, WithPacketConnWrapper(fn.Wrap), WithDialTimeout(dialTimeout))
			b := newProbedPeer(t, WithPacketConnWrapper(func(c net.PacketConn) net.PacketConn {
				quiet.PacketConn = fn.Wrap(c)
				return quiet
			}))
			if !tc.quiet {
				fn.Partition([]netip.AddrPort{a.Addr()}, []netip.AddrPort{b.Addr()})
			}
			done := make(chan error, 1)
			go func() { done <- a.Connect(context.Background(), b.Key(), b.Addr()) }()
			if tc.heal {
				select {
				case <-a.probeFailed:
				case err := <-done:
					t.Fatalf("dial ended before any probe failed: %v", err)
				case <-time.After(5 * time.Second):
					t.Fatal("no probe failed while the path was cut")
				}
				fn.Heal()
			}
			healed := time.Now()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("dial did not end within its timeout")
			}
			if got := a.Stats().DialRestarts; got != tc.wantRestarts {
				t.Errorf("dial restarts %d, want %d", got, tc.wantRestarts)
			}
			if tc.wantConnect {
				if err != nil {
					t.Fatalf("dial after the heal: %v", err)
				}
				t.Logf("connected %v after the heal", time.Since(healed).Round(time.Millisecond))
				if resp, err := a.Request(t.Context(), b.Key(), "missing", nil); !errors.Is(err, ErrUnknownMethod) {
					t.Fatalf("call on the new connection: %q, %v", resp, err)
				}
				if !oneConn(a.Endpoint, b.Key(), a.Key()) {
					t.Error("more than one connection kept after the dial started over")
				}
				return
			}
			if err == nil {
				t.Fatal("dial succeeded on a path that never answered QUIC")
			}
		})
	}
}
