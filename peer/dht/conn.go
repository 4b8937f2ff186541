package dht

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"
)

// PacketConn is the datagram socket a Node runs on. rpc.Endpoint implements it on the peer's
// shared QUIC socket: ReadNonQUICPacket returns the packets whose first byte has the 0x40 bit
// clear. UDP adapts a plain *net.UDPConn (bootstrap nodes, tests).
type PacketConn interface {
	// ReadNonQUICPacket blocks until a packet arrives or ctx ends, copies it into b and returns
	// its length and source.
	ReadNonQUICPacket(ctx context.Context, b []byte) (int, net.Addr, error)
	// WriteTo sends b as one datagram to addr. It must not retain b once it returns (the
	// io.Writer rule): the node reuses the buffer.
	WriteTo(b []byte, addr net.Addr) (int, error)
}

// UDP adapts a plain UDP socket to PacketConn. The adapter does not own conn: closing conn is
// the caller's job, after the Node that uses it is closed.
func UDP(conn *net.UDPConn) PacketConn { return udpConn{conn} }

type udpConn struct{ c *net.UDPConn }

func (u udpConn) ReadNonQUICPacket(ctx context.Context, b []byte) (int, net.Addr, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = u.c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	n, addr, err := u.c.ReadFromUDP(b)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, err
	}
	return n, addr, nil
}

func (u udpConn) WriteTo(b []byte, addr net.Addr) (int, error) { return u.c.WriteTo(b, addr) }

// addrPortOf converts a packet source to an AddrPort with IPv4 in its 4-byte form.
func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	var ap netip.AddrPort
	switch v := a.(type) {
	case *net.UDPAddr:
		ap = v.AddrPort()
	case interface{ AddrPort() netip.AddrPort }:
		ap = v.AddrPort()
	default:
		p, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return ap, false
		}
		ap = p
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	return ap, ap.IsValid() && ap.Port() != 0
}

// isClosedErr reports errors that mean the socket is gone for good.
func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled)
}
