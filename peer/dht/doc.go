// Package dht is auction-tui's discovery layer: a Kademlia DHT carried in UDP datagrams.
//
// A Node keeps a routing table of k-buckets (k = 20 by default) keyed by node id, the SHA-256 of a
// peer's ed25519 key. Every reply is signed by its responder over the request's random id, so a
// node enters a routing table only after it proved its key by answering. Lookups are iterative,
// with alpha requests in flight, per-request timeouts derived from measured round trips, a
// deadline per lookup and a precise end: the k closest nodes seen have all answered.
//
// Peers publish signed records (key, addresses, expiry) under a Topic at the k closest nodes to
// the topic; storing an announce requires a round-trip token handed to the sender's address in an
// earlier reply, and a proof signed by the record's key. Lookup returns the verified, unexpired
// records of a topic; Join keeps a record alive by re-announcing it before it expires. Every peer
// also announces under KeyTopic(its key), which makes it findable by key alone (FindPeer).
//
// DHT datagrams share the peer's one UDP socket with QUIC (see PacketConn): each starts with
// wire.DHTMagic, whose 0x40 bit is clear, so quic-go hands them to ReadNonQUICPacket. A bootstrap
// node is a Node on a plain UDP socket (ListenBootstrap); StartTestnet runs many nodes on loopback
// for tests and benchmarks.
//
// Lifecycle: New starts the goroutines a Node owns (a reader, a reply checker and a maintenance loop) and Close
// stops them, waits for them, and saves the routing table to the state file if one was given.
// Bootstrap joins the network; call it once after New (maintenance retries it while the table is
// empty). Join starts one more owned goroutine per call, which ends with its context or Close.
package dht
