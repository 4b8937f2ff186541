package peer

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/auction-tui/auction-tui/peer/dht"
	"github.com/auction-tui/auction-tui/wire"
)

// The swarm: a market is a DHT topic. The node announces itself under it and under its own key,
// looks the market up again periodically with jitter, connects to the peers it finds (at most
// WithMaxPeers), keeps one connection per peer and redials with exponential backoff and jitter.

// Backoff bounds of the redial loop.
const (
	minBackoff = 250 * time.Millisecond
	// maxBackoff is short because a market is small and a healed partition should reconnect
	// within seconds; fresh evidence of a peer (a lookup or peer-exchange hit) wakes it sooner.
	maxBackoff = 2 * time.Second
	// dialTimeout bounds one dial (QUIC and TLS handshakes). A dial sent into a partition fails
	// after this and is retried after the backoff, so a healed partition reconnects within
	// about dialTimeout + maxBackoff at worst.
	dialTimeout = 3 * time.Second
)

type peerState struct {
	addr        netip.AddrPort
	connected   bool
	equivocated bool
	dialing     bool
	wake        chan struct{} // pokes the dialer: disconnected, or a new address
	synced      time.Time     // when the last heads exchange with this peer, either way, ended
}

// ensurePeerLocked returns the state of k, creating it. n.mu must be held.
func (n *Node) ensurePeerLocked(k wire.PeerKey) *peerState {
	p := n.peers[k]
	if p == nil {
		p = &peerState{wake: make(chan struct{}, 1)}
		n.peers[k] = p
	}
	return p
}

func (n *Node) onConnect(k wire.PeerKey, addr netip.AddrPort) {
	n.mu.Lock()
	if len(n.peers) >= n.cfg.maxPeers && n.peers[k] == nil {
		n.mu.Unlock()
		n.log.Info("peer limit reached; refusing", "peer", k.Short())
		n.ep.Disconnect(k)
		return
	}
	p := n.ensurePeerLocked(k)
	p.addr = addr
	was := p.connected
	p.connected = true
	if !was {
		n.connected++
	}
	info := n.peerInfoLocked(k, p)
	n.mu.Unlock()
	select { // the dialer may be waiting for this event
	case p.wake <- struct{}{}:
	default:
	}
	if was {
		return
	}
	n.emit(Event{Kind: EventPeerConnected, Peer: info})
	n.startPusher(k)
	n.startExchange(k)
}

func (n *Node) onDisconnect(k wire.PeerKey, err error) {
	n.mu.Lock()
	p := n.peers[k]
	if p == nil || !p.connected {
		n.mu.Unlock()
		return
	}
	p.connected = false
	n.connected--
	info := n.peerInfoLocked(k, p)
	n.mu.Unlock()
	n.stopPusher(k)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	n.log.Info("peer disconnected", "peer", k.Short(), "err", err)
	n.emit(Event{Kind: EventPeerDisconnected, Peer: info})
}

// startDHT joins the DHT through the bootstrap nodes (serving the default one when it is free),
// announces the node and starts the swarm.
func (n *Node) startDHT(ctx context.Context, boots []string) error {
	if len(boots) == 0 {
		boots = []string{DefaultBootstrap}
		if n.cfg.serveBoot {
			n.tryServeBootstrap()
		}
	}
	var addrs []netip.AddrPort
	for _, b := range boots {
		ap, err := resolveAddr(b)
		if err != nil {
			return err
		}
		addrs = append(addrs, ap)
	}
	d, err := dht.New(n.priv, n.ep, dht.WithBootstrap(addrs), dht.WithLogger(n.log),
		dht.WithStateFile(filepath.Join(n.cfg.dataDir, "routing.table")))
	if err != nil {
		return fmt.Errorf("start DHT: %w", err)
	}
	n.dht = d
	// Joining runs in the background: New returns as soon as the node serves, and a bootstrap
	// node that is slow or down delays discovery, never start-up.
	n.wg.Add(1)
	go n.runSwarm(boots)
	return nil
}

// tryServeBootstrap binds the default bootstrap address. If it is free this node serves it; if it
// is taken, another process does and this node uses it.
func (n *Node) tryServeBootstrap() {
	seed := sha256.Sum256(append([]byte("auction-tui/v1/bootstrap-key"), n.priv.Seed()...))
	b, err := dht.ListenBootstrap(DefaultBootstrap, ed25519.NewKeyFromSeed(seed[:]), dht.WithLogger(n.log))
	if err != nil {
		n.log.Info("default bootstrap is served elsewhere", "addr", DefaultBootstrap, "err", err)
		return
	}
	n.log.Info("serving the default bootstrap", "addr", DefaultBootstrap)
	n.boot = b
}

func (n *Node) advertised() netip.AddrPort {
	a := n.ep.Addr()
	if a.Addr().IsUnspecified() {
		if n.dht != nil {
			if o, ok := n.dht.ObservedAddr(); ok {
				return netip.AddrPortFrom(o.Addr(), a.Port())
			}
		}
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), a.Port())
	}
	return a
}

func (n *Node) advertisedAddrs() []netip.AddrPort { return []netip.AddrPort{n.advertised()} }

// resolve finds a peer's addresses: the address book first, then the DHT.
func (n *Node) resolve(ctx context.Context, k wire.PeerKey) ([]netip.AddrPort, error) {
	n.mu.Lock()
	if p := n.peers[k]; p != nil && p.addr.IsValid() {
		a := p.addr
		n.mu.Unlock()
		return []netip.AddrPort{a}, nil
	}
	n.mu.Unlock()
	if n.dht == nil {
		return nil, errors.New("DHT not started")
	}
	return n.dht.FindPeer(ctx, k)
}

// probe pings addr over the DHT, which shares the endpoint's socket: the endpoint's probe of a
// slow dial (rpc.WithProbe), so that a dial sent into a partition starts over once it heals.
func (n *Node) probe(ctx context.Context, addr netip.AddrPort) error {
	if n.dht == nil {
		return errors.New("DHT not started")
	}
	_, err := n.dht.Ping(ctx, addr, 0)
	return err
}

// runSwarm bootstraps the DHT (retrying with backoff until it works), announces the node under
// the market topic and its own key, then looks the market up periodically with jitter.
func (n *Node) runSwarm(boots []string) {
	defer n.wg.Done()
	joined := false
	backoff := minBackoff
	for {
		if n.dht.Size() == 0 {
			ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
			err := n.dht.Bootstrap(ctx)
			cancel()
			if err != nil {
				n.log.Warn("DHT bootstrap failed; retrying", "bootstrap", boots, "err", err, "retry", backoff)
				select {
				case <-time.After(jitter(backoff)):
				case <-n.ctx.Done():
					return
				}
				backoff = min(backoff*2, maxBackoff)
				continue
			}
			backoff = minBackoff
		}
		if !joined {
			n.dht.Join(n.ctx, n.topic, n.advertisedAddrs)
			n.dht.Join(n.ctx, dht.KeyTopic(n.key), n.advertisedAddrs)
			joined = true
		}
		n.lookupMarket()
		n.mu.Lock()
		connected := 0
		for _, p := range n.peers {
			if p.connected {
				connected++
			}
		}
		n.mu.Unlock()
		wait := time.Second
		if connected > 0 {
			wait = jitter(n.cfg.lookupEvery)
		}
		select {
		case <-time.After(wait):
		case <-n.ctx.Done():
			return
		}
	}
}

func (n *Node) lookupMarket() {
	ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
	defer cancel()
	recs, err := n.dht.Lookup(ctx, n.topic)
	if err != nil {
		n.log.Debug("market lookup", "err", err)
		return
	}
	for _, r := range recs {
		if r.Key == n.key || len(r.Addrs) == 0 {
			continue
		}
		n.discover(r.Key, r.Addrs[0])
	}
}

// discover makes sure this node keeps a connection to market peer k, at addr when it is valid or
// at an address the DHT gives for k. Peers are discovered by market lookups and by peer exchange:
// every log writer named in a heads exchange is a market peer.
func (n *Node) discover(k wire.PeerKey, addr netip.AddrPort) {
	if k == n.key {
		return
	}
	if addr.IsValid() {
		n.ep.AddAddr(k, addr)
	}
	n.mu.Lock()
	if len(n.peers) >= n.cfg.maxPeers && n.peers[k] == nil {
		n.mu.Unlock()
		return
	}
	p := n.ensurePeerLocked(k)
	if addr.IsValid() && (!p.addr.IsValid() || !p.connected) {
		p.addr = addr
	}
	start := !p.dialing
	p.dialing = true
	idle := !p.connected
	n.mu.Unlock()
	if start {
		n.wg.Add(1)
		go n.keepConnected(k, p)
	} else if idle {
		select { // a dialer waiting out its backoff tries again now
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// keepConnected dials k whenever it is not connected, with exponential backoff and jitter.
func (n *Node) keepConnected(k wire.PeerKey, p *peerState) {
	defer n.wg.Done()
	backoff := minBackoff
	for {
		n.mu.Lock()
		connected, addr := p.connected, p.addr
		n.mu.Unlock()
		if !connected {
			ctx, cancel := context.WithTimeout(n.ctx, dialTimeout)
			err := n.ep.Connect(ctx, k, addr)
			cancel()
			if err == nil {
				backoff = minBackoff
				// The endpoint's connect event may not have reached onConnect yet: wait for it
				// (onConnect wakes this loop) instead of spinning on Connect, which returns at
				// once for a peer already connected.
				select {
				case <-p.wake:
				case <-time.After(time.Second):
				case <-n.ctx.Done():
					return
				}
				continue
			}
			if n.ctx.Err() != nil {
				return
			}
			n.log.Debug("dial", "peer", k.Short(), "addr", addr, "err", err, "retry", backoff)
			select {
			case <-time.After(jitter(backoff)):
			case <-p.wake:
			case <-n.ctx.Done():
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		period := n.exchangePeriod()
		select {
		case <-p.wake:
		case <-time.After(jitterBelow(period)):
			// Both ends of a connection run this loop: an exchange with k in the last half
			// period, started by either side, already told each what the other holds, so skip
			// this one. The side that ran that exchange runs the next within its own period.
			if !n.syncedWithin(k, period/2) {
				n.startExchange(k)
			}
		case <-n.ctx.Done():
			return
		}
	}
}

// exchangePeriod is the period of the heads exchange with one peer: the anti-entropy period,
// stretched when more than AntiEntropyFanout peers are connected so that the node makes about
// AntiEntropyFanout exchanges per period in all.
func (n *Node) exchangePeriod() time.Duration {
	n.mu.Lock()
	c := n.connected
	n.mu.Unlock()
	if c <= AntiEntropyFanout {
		return n.cfg.antiEntropy
	}
	return n.cfg.antiEntropy * time.Duration(c) / AntiEntropyFanout
}

// jitterBelow returns d less up to 20%: the gap between two exchanges with a peer never exceeds
// the anti-entropy period, so that a peer that missed an entry (a healed partition) hears of it
// from every holder within one period, as the design promises.
func jitterBelow(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.2*rand.Float64()))
}

// jitter returns d ±20%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func parseBootstrap(in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		for _, part := range splitComma(s) {
			if _, err := resolveAddr(part); err != nil {
				return nil, err
			}
			out = append(out, part)
		}
	}
	return out, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if p := s[start:i]; p != "" {
				out = append(out, p)
			}
			start = i + 1
		}
	}
	return out
}

// resolveAddr parses HOST:PORT for a bootstrap node, refusing unspecified hosts.
func resolveAddr(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: bootstrap %q is not HOST:PORT", ErrBadInput, s)
	}
	ua, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: bootstrap %q: %w", ErrBadInput, s, err)
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Addr().IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("%w: bootstrap %q: %s is not an address one can send to; use the bootstrap's real address, e.g. 127.0.0.1:%s", ErrBadInput, s, host, port)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: bootstrap %q: port 0", ErrBadInput, s)
	}
	return ap, nil
}
