package faultnet

import (
	"container/heap"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Conn is a socket wrapped by a Network. It is a plain net.PacketConn: it deliberately lacks
// SyscallConn, ReadMsgUDP and WriteMsgUDP, so quic-go runs it on its basic path (no GSO, no ECN,
// no DF bit; packets are read and written one by one), which is what lets every packet pass
// through the fault model. SetReadBuffer and SetWriteBuffer are forwarded so that quic-go can
// still size the real socket's buffers.
type Conn struct {
	net   *Network
	pc    net.PacketConn
	local netip.AddrPort
	ord   uint64

	mu     sync.Mutex
	queue  pktHeap
	free   []*packet // written packets kept for reuse, at most maxFree
	seq    uint64    // tie-break: equal due times leave in send order
	closed bool
	wake   chan struct{}
	done   chan struct{}
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

var _ net.PacketConn = (*Conn)(nil)

// Wrap returns c with the Network's faults applied: every WriteTo goes through a fault decision,
// and ReadFrom drops packets from addresses a partition or an isolation separates from c. The
// returned conn owns c: closing it closes c and drops the packets still delayed. Wrap panics if
// c's local address is not a UDP address (a programming error).
func (n *Network) Wrap(c net.PacketConn) net.PacketConn { return n.WrapConn(c) }

// WrapConn is Wrap returning the concrete type, for callers that want Ordinal or Addr.
func (n *Network) WrapConn(c net.PacketConn) *Conn {
	local, ok := addrPort(c.LocalAddr())
	if !ok {
		panic("faultnet: Wrap needs a socket with a UDP local address, got " + c.LocalAddr().String())
	}
	w := &Conn{net: n, pc: c, local: local, wake: make(chan struct{}, 1), done: make(chan struct{})}
	n.mu.Lock()
	n.nextOrd++
	w.ord = n.nextOrd
	n.ords[local] = w.ord
	n.conns[w] = struct{}{}
	n.mu.Unlock()
	w.wg.Add(1)
	go w.deliver()
	return w
}

// Ordinal returns the socket's Wrap ordinal: 1 for the first socket the Network wrapped, and so on.
func (c *Conn) Ordinal() uint64 { return c.ord }

// Addr returns the socket's local address.
func (c *Conn) Addr() netip.AddrPort { return c.local }

// ReadFrom reads the next packet that no partition or isolation blocks, dropping blocked ones.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		k, addr, err := c.pc.ReadFrom(b)
		if err != nil {
			return k, addr, err
		}
		from, ok := addrPort(addr)
		if !ok {
			return k, addr, nil
		}
		c.net.mu.Lock()
		blocked := c.net.blockedLocked(from, c.local)
		if blocked {
			c.net.stats.RecvBlock++
		}
		c.net.mu.Unlock()
		if !blocked {
			return k, addr, nil
		}
	}
}

// WriteTo sends b to addr through the fault model. It returns len(b) and no error for a packet
// that is dropped or delayed, as a real network would; it returns net.ErrClosed after Close.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	to, ok := addrPort(addr)
	if !ok {
		return c.pc.WriteTo(b, addr)
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	d := c.net.decide(c.ord, c.local, to, len(b))
	if d.Verdict != Delivered {
		return len(b), nil
	}
	if err := c.send(d.Delay, b, addr); err != nil {
		return 0, err
	}
	if d.Duplicate {
		_ = c.send(d.DupDelay, b, addr) // the original went out: the copy's fate is the network's
	}
	return len(b), nil
}

// send writes b now when delay is zero, or queues a copy for later.
func (c *Conn) send(delay time.Duration, b []byte, addr net.Addr) error {
	if delay > 0 {
		c.schedule(delay, b, addr)
		return nil
	}
	if _, err := c.pc.WriteTo(b, addr); err != nil {
		return err
	}
	c.count(1, 0)
	return nil
}

func (c *Conn) count(delivered, delayed uint64) {
	c.net.mu.Lock()
	c.net.stats.Delivered += delivered
	c.net.stats.Delayed += delayed
	c.net.mu.Unlock()
}

// maxFree bounds the written packets a Conn keeps for reuse (see Conn.free), so that a delayed
// packet is copied into a buffer that an earlier one used, not into a new allocation: a chaos
// run delays most packets, and the allocations drew garbage-collector assists onto the send
// path.
const maxFree = 256

// schedule queues a copy of b for writing after delay.
func (c *Conn) schedule(delay time.Duration, b []byte, addr net.Addr) {
	due := time.Now().Add(delay)
	c.mu.Lock()
	var p *packet
	if k := len(c.free); k > 0 {
		p, c.free = c.free[k-1], c.free[:k-1]
	} else {
		p = new(packet)
	}
	p.due, p.data, p.addr = due, append(p.data[:0], b...), addr
	if c.closed || len(c.queue) >= MaxQueued {
		overflow := !c.closed
		c.mu.Unlock()
		if overflow {
			c.net.mu.Lock()
			c.net.stats.Overflow++
			c.net.mu.Unlock()
		}
		return
	}
	p.seq = c.seq
	c.seq++
	heap.Push(&c.queue, p)
	first := c.queue[0] == p
	c.mu.Unlock()
	if first {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// deliver writes delayed packets when they are due. It runs from Wrap until Close.
func (c *Conn) deliver() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []*packet
	for {
		c.mu.Lock()
		for _, p := range due {
			if len(c.free) < maxFree {
				p.addr = nil
				c.free = append(c.free, p)
			}
		}
		due = due[:0]
		now := time.Now()
		for len(c.queue) > 0 && !c.queue[0].due.After(now) {
			due = append(due, heap.Pop(&c.queue).(*packet))
		}
		wait := time.Hour
		if len(c.queue) > 0 {
			wait = c.queue[0].due.Sub(now)
		}
		c.mu.Unlock()
		for _, p := range due {
			if _, err := c.pc.WriteTo(p.data, p.addr); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				c.net.cfg.logger.Debug("faultnet: delayed write failed", "from", c.local, "to", p.addr, "err", err)
				continue
			}
			c.count(1, 1)
		}
		if len(due) > 0 {
			continue // more may have come due while writing
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.wake:
			timer.Stop()
		case <-c.done:
			return
		}
	}
}

// Close closes the real socket and drops the packets still delayed. It is safe to call more than
// once; later calls return net.ErrClosed like a closed socket.
func (c *Conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.mu.Lock()
		c.closed = true
		c.queue = nil
		c.mu.Unlock()
		close(c.done)
		c.closeErr = c.pc.Close()
		c.wg.Wait()
		c.net.mu.Lock()
		delete(c.net.conns, c)
		if c.net.ords[c.local] == c.ord {
			delete(c.net.ords, c.local)
		}
		// Ordinals are never reused, so the links of a closed socket carry no more packets:
		// forget their streams, or a long run with restarts keeps every link it ever had.
		for k := range c.net.links {
			if k.from == c.ord || k.to == c.ord {
				delete(c.net.links, k)
			}
		}
		c.net.mu.Unlock()
	})
	if !first {
		return net.ErrClosed
	}
	return c.closeErr
}

// LocalAddr returns the real socket's local address.
func (c *Conn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// SetDeadline sets the real socket's read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.pc.SetDeadline(t) }

// SetReadDeadline sets the real socket's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }

// SetWriteDeadline sets the real socket's write deadline; it does not apply to delayed packets,
// which WriteTo has already accepted.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }

// SetReadBuffer sets the real socket's receive buffer size, in bytes, when it supports it.
func (c *Conn) SetReadBuffer(bytes int) error {
	if s, ok := c.pc.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(bytes)
	}
	return errors.ErrUnsupported
}

// SetWriteBuffer sets the real socket's send buffer size, in bytes, when it supports it.
func (c *Conn) SetWriteBuffer(bytes int) error {
	if s, ok := c.pc.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(bytes)
	}
	return errors.ErrUnsupported
}

type packet struct {
	due  time.Time
	seq  uint64
	data []byte
	addr net.Addr
}

// pktHeap orders packets by due time, then by send order.
type pktHeap []*packet

func (h pktHeap) Len() int { return len(h) }
func (h pktHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h pktHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pktHeap) Push(x any)   { *h = append(*h, x.(*packet)) }
func (h *pktHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return p
}
