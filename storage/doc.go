// Package storage keeps a peer's Hypercore-style append-only logs in nutsdb: the peer's own
// writable log, verified replicas of other peers' logs, the identity key and equivocation proofs.
//
// # Layout
//
// One folder holds one store. It is protected by an exclusive flock on <dir>/LOCK, so a second
// opener (in this process or another one) gets a *LockedError; the lock covers the whole folder.
// The folder holds two nutsdb databases, both in FileIO mode with automatic merge off:
//
//   - the own database, in <dir> itself: the identity key and the own log, with fsync on every
//     commit (an append is acknowledged only once durable);
//   - the replica database, in <dir>/replicas (ReplicaDir): replica logs, their heads and
//     equivocation proofs, written without fsync. A replica tail lost in a power failure is
//     fetched again from peers by anti-entropy, so a replica import costs a write to the page
//     cache instead of an fsync: a one-entry import went from 0.3-0.7 ms p50 and 4-6 ms p99
//     to about 57 µs p50 (mostly the ed25519 check of the head) and 0.2-0.8 ms p99 on the
//     development machine (BenchmarkImportSingle).
//
// Every read and write is routed by log key: the store's own key to the own database, any other
// key to the replica database. Imports of different logs take different (striped) locks, so they
// verify concurrently and only their nutsdb commits serialise, per database.
//
// A folder written before the split (replicas in the own database) is opened as if it held no
// replicas: their records stay in the own database unused (a warning is logged) and the
// replicas are fetched again. There were no users of that layout, so there is no migration.
//
// Buckets, in each database (the "q" bucket is used in the replica database only, "m" in the own
// one only):
//
//   - "e": key = log key (32 B) || index (8 B big-endian); value = the entry's record: n (1 B)
//     || n tree nodes (32 B each) || entry bytes. The n nodes are the RFC 6962 subtree hashes at
//     levels 1..n completed by appending this entry (n = the number of trailing one bits of the
//     index), so every node of the Merkle tree is stored exactly once: about 32 bytes per entry.
//     Any compact range, and so the root at any length, is O(log n) reads. Only a log's tail
//     lives here: see "c".
//   - "c": key = log key || chunk number (8 B big-endian); value = 64 records, each preceded by
//     its length (uvarint). The transaction that makes a log's length cross a multiple of 64
//     moves the records of the chunk it completes from "e" into one "c" key, because nutsdb
//     keeps every key in RAM (about 190 B each): a log costs about 3 B of RAM per entry plus at
//     most 63 tail keys, instead of 190 B per entry. Readers look in "c" first, then "e".
//   - "h": key = log key; value = latest signed head (wire.SignedHeadSize B) || the length of the
//     head before it (8 B). Open re-hashes the entries between those two lengths (the last
//     commit) from the stored tree state and checks the root against the signed head.
//   - "H": key = log key || length (8 B big-endian); value = the signed head at that length.
//     Every commit of the own log and every import stores one, so a range [start, h.Length)
//     can be served together with a signed head h that ends it (see Log.HeadFor). Heads more
//     than 256 entries behind the log's length are thinned to one per 128 entries (the
//     greatest of each span), in the transaction that moves them out of that window: nutsdb
//     keeps every key in RAM (about 190 B each), and entries arriving one at a time would
//     otherwise cost a head key each.
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
// Replica imports are atomic too (one transaction) but not durable: after a crash of the machine
// a replica may be shorter than what was imported, never inconsistent with its stored head. The
// replica database is the one most likely to be torn, since it is never fsynced.
//
// # Torn tails
//
// nutsdb refuses to open a folder whose newest data file ends in a torn or garbage record (a
// "crc error") and repairs nothing. Open therefore scans the newest data file of each database
// record by record before nutsdb sees it, finds the end of the last valid record that closes a
// transaction, copies any bytes after it to repair-<time>-<file>.cut beside the data file,
// truncates the file there and reports the cut through Store.Repairs (paths relative to the
// store folder, e.g. "replicas/0.dat") and a slog warning. Only whole transactions are cut, so
// logs stay consistent with their signed heads; a cut in the replica database loses only replica
// entries, which are fetched again from peers. If the replica database still does not open (damage
// beyond a torn tail, such as a lost page in an older data file), Open moves the whole
// <dir>/replicas folder aside to <dir>/replicas.discarded-<time> (keeping only the newest such
// folder), starts an empty one and reports it as a Repair with File == ReplicaDir. Damage to the
// own database beyond a torn tail still fails Open with a *CorruptError.
package storage
