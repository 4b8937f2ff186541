// Package storage keeps a peer's Hypercore-style append-only logs in nutsdb: the peer's own
// writable log, verified replicas of other peers' logs, the identity key and equivocation proofs.
//
// # Layout
//
// One folder holds one store. It is protected by an exclusive flock on <dir>/LOCK, so a second
// opener (in this process or another one) gets a *LockedError. nutsdb runs in FileIO mode with
// fsync on every commit and automatic merge off. Buckets:
//
//   - "e": key = log key (32 B) || index (8 B big-endian); value = n (1 B) || n tree nodes
//     (32 B each) || entry bytes. The n nodes are the RFC 6962 subtree hashes at levels 1..n
//     completed by appending this entry (n = the number of trailing one bits of the index), so
//     every node of the Merkle tree is stored exactly once: about 32 bytes per entry. Any
//     compact range, and so the root at any length, is O(log n) reads.
//   - "h": key = log key; value = latest signed head (wire.SignedHeadSize B) || the length of the
//     head before it (8 B). Open re-hashes the entries between those two lengths (the last
//     commit) from the stored tree state and checks the root against the signed head.
//   - "H": key = log key || length (8 B big-endian); value = the signed head at that length.
//     Every commit of the own log and every import stores one, so a range [start, h.Length)
//     can be served together with a signed head h that ends it (see Log.HeadFor).
//   - "q": key = log key; value = two signed heads of that key that are inconsistent (proof of
//     equivocation).
//   - "m": store metadata, today only the identity key seed.
//
// # Atomicity and durability
//
// Entries and their heads are written in one nutsdb transaction, and nutsdb replays only
// transactions whose last record is marked committed, so after a crash a log holds exactly the
// entries of its last committed head. An append is acknowledged only after the transaction is
// fsynced. Concurrent appends are group-committed: one committer goroutine owned by the Store
// gathers whatever is queued (at most MaxCommitEntries entries) into one transaction and one fsync.
//
// # Torn tails
//
// nutsdb refuses to open a folder whose newest data file ends in a torn or garbage record (a
// "crc error") and repairs nothing. Open therefore scans the newest data file record by record
// before nutsdb sees it, finds the end of the last valid record that closes a transaction, copies
// any bytes after it to <dir>/repair-<time>.cut, truncates the file there and reports the cut
// through Store.Repairs and a slog warning. Only whole transactions are cut, so logs stay
// consistent with their signed heads; lost entries of replicas are fetched again from peers.
package storage
