package dht

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// testnetConcurrency is the number of testnet nodes bootstrapping at once.
const testnetConcurrency = 8

// Testnet is an in-process DHT network on 127.0.0.1 for tests and benchmarks: node 0 is a
// bootstrap node, every other node bootstrapped from it. Each node has its own UDP socket.
type Testnet struct {
	// Nodes are the nodes, Nodes[0] being the bootstrap node. A killed node stays in the slice.
	Nodes []*Node

	opts   []Option
	mu     sync.Mutex
	killed map[int]bool
}

// StartTestnet starts n nodes (n >= 1) with opts on loopback and bootstraps them, 8 at a time.
// The caller must Close it.
func StartTestnet(ctx context.Context, n int, opts ...Option) (*Testnet, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: testnet of %d nodes", ErrInvalidOption, n)
	}
	t := &Testnet{opts: opts, killed: make(map[int]bool)}
	_, priv, _ := ed25519.GenerateKey(nil)
	boot, err := ListenBootstrap("127.0.0.1:0", priv, opts...)
	if err != nil {
		return nil, err
	}
	t.Nodes = make([]*Node, n)
	t.Nodes[0] = boot
	sem := make(chan struct{}, testnetConcurrency)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 1; i < n; i++ {
		nd, err := t.newNode()
		if err != nil {
			t.Close()
			return nil, err
		}
		t.Nodes[i] = nd
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = nd.Bootstrap(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *Testnet) newNode(opts ...Option) (*Node, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("dht: testnet listen: %w", err)
	}
	all := append(append(append([]Option(nil), t.opts...), WithBootstrap(t.Bootstrap())), opts...)
	_, priv, _ := ed25519.GenerateKey(nil)
	n, err := newOnUDP(conn, priv, all...)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return n, nil
}

// Add starts one more node with the testnet's options followed by opts, bootstraps it, and
// appends it to Nodes. The testnet closes it.
func (t *Testnet) Add(ctx context.Context, opts ...Option) (*Node, error) {
	n, err := t.newNode(opts...)
	if err != nil {
		return nil, err
	}
	if err := n.Bootstrap(ctx); err != nil {
		n.Close()
		return nil, err
	}
	t.mu.Lock()
	t.Nodes = append(t.Nodes, n)
	t.mu.Unlock()
	return n, nil
}

// Bootstrap returns the address of the bootstrap node, for WithBootstrap.
func (t *Testnet) Bootstrap() []netip.AddrPort {
	a, _ := t.Nodes[0].LocalAddr()
	return []netip.AddrPort{a}
}

// Kill stops node i abruptly: its socket closes and it answers nothing more, without telling
// anyone. Other nodes find out by their requests timing out.
func (t *Testnet) Kill(i int) {
	t.mu.Lock()
	n := t.Nodes[i]
	already := t.killed[i]
	t.killed[i] = true
	t.mu.Unlock()
	if !already {
		n.Close()
	}
}

// Alive reports whether node i was not killed.
func (t *Testnet) Alive(i int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.killed[i]
}

// Close closes every node.
func (t *Testnet) Close() {
	t.mu.Lock()
	nodes := append([]*Node(nil), t.Nodes...)
	t.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n != nil {
			wg.Add(1)
			go func() { defer wg.Done(); n.Close() }()
		}
	}
	wg.Wait()
}
