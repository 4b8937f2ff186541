// Package rpc is the request/response layer of auction-tui, the Go counterpart of
// @hyperswarm/rpc: peers addressed by their ed25519 public key, talking over QUIC.
//
// An Endpoint owns one UDP socket. A single quic-go Transport both listens and dials on it, and
// also passes non-QUIC datagrams through to the DHT (ReadNonQUICPacket, WriteTo). Every
// connection is TLS 1.3 with mutual authentication: each side presents a self-signed certificate
// whose key is its peer key, a dialer pins the key it expects and a listener learns the key of
// its caller. There is no 0-RTT and there are no session tickets, so a request can never be
// replayed from an earlier handshake.
//
// Every call uses its own QUIC stream carrying one request frame and one response frame (see
// wire/rpc.go); an Event uses one unidirectional stream and awaits no answer. Calls have a
// deadline (WithRequestTimeout, never infinite); responders bound the calls in flight per peer
// (WithMaxStreamsPerPeer), the bytes they buffer per peer (WithMaxPeerBytes) and the size of
// every message (WithMaxMessageSize), and read with a deadline, so a misbehaving peer cannot
// exhaust memory or goroutines.
//
// There is at most one connection per pair of peers. When both dial each other at once, both keep
// the connection dialed by the peer with the smaller key (bytewise) and close the other once its
// streams are done; a call caught on the closed duplicate is retried once on the kept connection.
// A peer that connects from a new run of its endpoint (every run makes a fresh certificate) has
// restarted: its new connection replaces the old one at once, whoever dialed either, and the
// callbacks see it disconnect (ErrRestarted) and connect again.
//
// Reconnecting with backoff is the caller's business (the swarm), but a Request or Event to a peer
// whose connection dropped dials it again. With WithProbe, a dial that waits probes its address
// and starts its handshake over once the path comes back after being cut (dial.go), instead of
// waiting for QUIC to resend its Initial on a backed-off timer.
package rpc
