// Package wire holds the canonical bytes of everything auction-tui signs or sends: log entries and
// the auction events they carry, bidder-signed bids, signed log heads, replication and DHT messages,
// and USDt amounts.
//
// Every encoding is a hand-written binary format that is canonical by construction: integers are
// fixed-width big-endian, strings and byte blobs carry a fixed-width length prefix, and there are
// no optional fields whose absence could be spelled two ways. Decoders check declared maximum sizes
// before allocating and reject trailing bytes, so a value has exactly one encoding and signatures
// are always verified over the exact bytes received, never over a re-encoding.
//
// The package is pure: it does no I/O and knows nothing about the network, storage or the UI.
package wire
