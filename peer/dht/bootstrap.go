package dht

import (
	"crypto/ed25519"
	"fmt"
	"net"
	"net/netip"
)

// ListenBootstrap starts a bootstrap node: a Node on its own UDP socket at addr (HOST:PORT; port 0
// picks one), with no bootstrap list of its own, holding no market state. Others list its address
// in WithBootstrap. The node owns the socket and closes it on Close; LocalAddr returns the bound
// address.
func ListenBootstrap(addr string, priv ed25519.PrivateKey, opts ...Option) (*Node, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dht: bootstrap address: %w", err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("dht: listen: %w", err)
	}
	n, err := newOnUDP(conn, priv, opts...)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return n, nil
}

// newOnUDP makes a node that owns conn.
func newOnUDP(conn *net.UDPConn, priv ed25519.PrivateKey, opts ...Option) (*Node, error) {
	n, err := New(priv, UDP(conn), opts...)
	if err != nil {
		return nil, err
	}
	la := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	n.local = netip.AddrPortFrom(la.Addr().Unmap(), la.Port())
	n.onClose = conn.Close
	return n, nil
}
