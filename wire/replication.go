package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// Replication messages. Peers exchange Heads (the latest signed head of every log they hold),
// ask for missing entries with a FetchRequest, and answer with a Range. These messages travel
// inside RPC frames whose ALPN names the protocol version, so they carry no version byte of their
// own. Their encodings are canonical: every accepted input re-encodes to the same bytes.

// Limits of replication messages.
const (
	// MaxRangeEntries is the most entries one Range (and one FetchRequest) may cover.
	MaxRangeEntries = 4096
	// MaxRangeBytes is the largest encoded Range, in bytes. A sender filling a Range must respect
	// both this and MaxRangeEntries: 4096 entries of MaxEntrySize do not fit.
	MaxRangeBytes = 4 << 20
	// MaxHeads is the most signed heads one Heads message may carry.
	MaxHeads = 4096
	// MaxProofHashes is the most hashes a Range proof can hold (a compact range of a 64-bit tree).
	MaxProofHashes = 128
)

// Sizes of the fixed parts of replication messages, in bytes.
const (
	// RangeFixedSize is the encoded size of a Range with no entries and no proof: the signed
	// head, the start index (u64), the entry count (u32) and the proof hash count (u8).
	RangeFixedSize = SignedHeadSize + 8 + 4 + 1
	// RangeEntryOverhead is the length prefix (u32) added to each entry of a Range.
	RangeEntryOverhead = 4
	// FetchRequestSize is the encoded size of a FetchRequest.
	FetchRequestSize = KeySize + 8 + 8
	// HeadsDigestSize is the encoded size of a HeadsDigest: the head count (u32) and a SHA-256.
	HeadsDigestSize = 4 + sha256.Size
)

// Range carries entries [Start, Start+len(Entries)) of the log Head.Key, with a signed head of that
// log that covers them (Head.Length >= Start+len(Entries)).
//
// Encoding (integers big-endian): signed_head start:u64 count:u32 (length:u32 entry)*count
// proof_count:u8 (hash)*proof_count.
type Range struct {
	// Head is the signed head the entries are verified against.
	Head SignedHead
	// Start is the log index of Entries[0].
	Start uint64
	// Entries are encoded entries (see UnmarshalEntry), each 1 to MaxEntrySize bytes; at most
	// MaxRangeEntries of them. They are passed as raw bytes: the receiver hashes exactly these
	// bytes into the Merkle tree and decodes them itself.
	Entries [][]byte
	// Proof is either empty or the RFC 6962 compact range of entries
	// [Start+len(Entries), Head.Length): exactly RangeProofSize(Start+len(Entries), Head.Length)
	// hashes, in the order of transparency-dev/merkle compact.Range.Hashes (left to right). A
	// receiver holding entries [0, Start) can then check a partial range against Head.Root
	// without holding the rest of the log. Empty when the entries reach Head.Length.
	Proof []Hash
}

// RangeProofSize returns the number of hashes in the compact range [begin, end) of an RFC 6962
// tree: the number of perfect subtrees that range decomposes into. It is 0 when begin >= end.
func RangeProofSize(begin, end uint64) int {
	if begin >= end {
		return 0
	}
	// As in transparency-dev/merkle compact.Decompose.
	if begin == 0 {
		return bits.OnesCount64(end)
	}
	xbegin := begin - 1
	d := bits.Len64(xbegin^end) - 1
	mask := uint64(1)<<uint(d) - 1
	return bits.OnesCount64(^xbegin&mask) + bits.OnesCount64(end&mask)
}

// End returns the index after the last entry the range carries: Start+len(Entries).
func (r Range) End() uint64 { return r.Start + uint64(len(r.Entries)) }

// EncodedSize returns the size of r's encoding, in bytes.
func (r Range) EncodedSize() int {
	n := RangeFixedSize + len(r.Proof)*HashSize
	for _, e := range r.Entries {
		n += RangeEntryOverhead + len(e)
	}
	return n
}

// Validate checks everything UnmarshalRange checks except what the encoding itself guarantees:
// at most MaxRangeEntries entries, each 1 to MaxEntrySize bytes, Start+len(Entries) neither
// overflowing nor beyond Head.Length, a proof that is empty or exactly RangeProofSize(End(),
// Head.Length) hashes, and an encoded size of at most MaxRangeBytes. It checks no signature, no
// entry's contents and no proof hash. Errors are *DecodeError.
func (r Range) Validate() error {
	bad := func(format string, args ...any) error {
		return &DecodeError{Type: "range", Reason: fmt.Sprintf(format, args...)}
	}
	if len(r.Entries) > MaxRangeEntries {
		return bad("%d entries, at most %d allowed", len(r.Entries), MaxRangeEntries)
	}
	for i, e := range r.Entries {
		if len(e) == 0 || len(e) > MaxEntrySize {
			return bad("entry %d has %d bytes, want 1 to %d", i, len(e), MaxEntrySize)
		}
	}
	end, carry := bits.Add64(r.Start, uint64(len(r.Entries)), 0)
	if carry != 0 {
		return bad("start %d plus %d entries overflows", r.Start, len(r.Entries))
	}
	if end > r.Head.Length {
		return bad("entries end at %d, beyond head length %d", end, r.Head.Length)
	}
	if len(r.Proof) != 0 {
		if want := RangeProofSize(end, r.Head.Length); len(r.Proof) != want {
			return bad("proof has %d hashes, want 0 or %d", len(r.Proof), want)
		}
	}
	if n := r.EncodedSize(); n > MaxRangeBytes {
		return bad("encoded size %d, at most %d allowed", n, MaxRangeBytes)
	}
	return nil
}

// Marshal returns the encoding of r. It does not validate r: call Validate first when r was not
// built with care, since UnmarshalRange rejects an encoding of an invalid Range.
func (r Range) Marshal() []byte {
	b := make([]byte, 0, r.EncodedSize())
	b = r.Head.Head.AppendBinary(b)
	b = append(b, r.Head.Sig[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Start)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Entries)))
	for _, e := range r.Entries {
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	b = append(b, byte(len(r.Proof)))
	for _, h := range r.Proof {
		b = append(b, h[:]...)
	}
	return b
}

// UnmarshalRange decodes a Range. It checks the total size against MaxRangeBytes first, the entry
// count against MaxRangeEntries and the bytes left before allocating, each entry's length against
// MaxEntrySize before copying, rejects trailing bytes, and then checks what Validate checks. The
// entries share one new buffer (they do not alias b). It verifies neither the head's signature nor
// the entries against it. Errors are *DecodeError.
func UnmarshalRange(b []byte) (Range, error) {
	var r Range
	if len(b) > MaxRangeBytes {
		return r, &DecodeError{Type: "range", Reason: fmt.Sprintf("size %d, at most %d allowed", len(b), MaxRangeBytes)}
	}
	rd := reader{b: b, typ: "range"}
	head := rd.bytes("head", SignedHeadSize)
	r.Start = rd.u64("start")
	count := rd.u32("entry count")
	if rd.err != nil {
		return Range{}, rd.err
	}
	r.Head, _ = UnmarshalSignedHead(head) // exact size, cannot fail
	if count > MaxRangeEntries {
		return Range{}, &DecodeError{Type: "range", Reason: fmt.Sprintf("%d entries, at most %d allowed", count, MaxRangeEntries)}
	}
	if uint64(count)*RangeEntryOverhead > uint64(len(rd.b)) {
		return Range{}, &DecodeError{Type: "range", Reason: fmt.Sprintf("%d entries declared, only %d bytes left", count, len(rd.b))}
	}
	if count > 0 {
		r.Entries = make([][]byte, count)
		buf := make([]byte, 0, len(rd.b)-int(count)*RangeEntryOverhead)
		for i := range r.Entries {
			n := rd.u32("entry length")
			if rd.err != nil {
				return Range{}, rd.err
			}
			if n == 0 || n > MaxEntrySize {
				return Range{}, &DecodeError{Type: "range", Reason: fmt.Sprintf("entry %d has %d bytes, want 1 to %d", i, n, MaxEntrySize)}
			}
			e := rd.bytes("entry", int(n))
			if rd.err != nil {
				return Range{}, rd.err
			}
			start := len(buf)
			buf = append(buf, e...)
			r.Entries[i] = buf[start:len(buf):len(buf)]
		}
	}
	proofCount := int(rd.u8("proof count"))
	if rd.err != nil {
		return Range{}, rd.err
	}
	if proofCount > MaxProofHashes {
		return Range{}, &DecodeError{Type: "range", Reason: fmt.Sprintf("proof has %d hashes, at most %d allowed", proofCount, MaxProofHashes)}
	}
	if proofCount*HashSize > len(rd.b) {
		return Range{}, &DecodeError{Type: "range", Reason: fmt.Sprintf("truncated proof: %d bytes left, want %d", len(rd.b), proofCount*HashSize)}
	}
	if proofCount > 0 {
		r.Proof = make([]Hash, proofCount)
		for i := range r.Proof {
			copy(r.Proof[i][:], rd.bytes("proof", HashSize))
		}
	}
	if len(rd.b) != 0 {
		return Range{}, &DecodeError{Type: "range", Reason: fmt.Sprintf("%d trailing bytes", len(rd.b))}
	}
	if err := r.Validate(); err != nil {
		return Range{}, err
	}
	return r, nil
}

// Heads is a set of signed heads, at most one per distinct encoding: what a peer tells another
// about the logs it holds. Several heads of one key may appear (two inconsistent heads are proof
// of equivocation).
//
// Encoding: count:u32 (signed_head)*count, the heads in strictly ascending order of their encoded
// bytes (so by key first), which makes the encoding of a set unique.
type Heads struct {
	// Heads are the signed heads, at most MaxHeads. Marshal sorts and de-duplicates a copy;
	// UnmarshalHeads returns them sorted.
	Heads []SignedHead
}

// Validate checks that h holds at most MaxHeads heads. Errors are *DecodeError.
func (h Heads) Validate() error {
	if len(h.Heads) > MaxHeads {
		return &DecodeError{Type: "heads", Reason: fmt.Sprintf("%d heads, at most %d allowed", len(h.Heads), MaxHeads)}
	}
	return nil
}

// Marshal returns the canonical encoding of h: its distinct heads sorted by encoding. It does not
// change h. An encoding of more than MaxHeads distinct heads is rejected by UnmarshalHeads.
func (h Heads) Marshal() []byte {
	encs := make([][]byte, len(h.Heads))
	for i, s := range h.Heads {
		encs[i] = s.Marshal()
	}
	slices.SortFunc(encs, bytes.Compare)
	encs = slices.CompactFunc(encs, bytes.Equal)
	b := make([]byte, 0, 4+len(encs)*SignedHeadSize)
	b = binary.BigEndian.AppendUint32(b, uint32(len(encs)))
	for _, e := range encs {
		b = append(b, e...)
	}
	return b
}

// UnmarshalHeads decodes a Heads message. It checks the count against MaxHeads and the exact size
// before allocating, and that the heads are in strictly ascending order of their encodings. It
// verifies no signature. Errors are *DecodeError.
func UnmarshalHeads(b []byte) (Heads, error) {
	bad := func(format string, args ...any) error {
		return &DecodeError{Type: "heads", Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) < 4 {
		return Heads{}, bad("truncated count: %d bytes", len(b))
	}
	count := binary.BigEndian.Uint32(b)
	if count > MaxHeads {
		return Heads{}, bad("%d heads, at most %d allowed", count, MaxHeads)
	}
	if want := 4 + int(count)*SignedHeadSize; len(b) != want {
		return Heads{}, bad("size %d, want %d for %d heads", len(b), want, count)
	}
	var h Heads
	if count == 0 {
		return h, nil
	}
	h.Heads = make([]SignedHead, count)
	var prev []byte
	for i := range h.Heads {
		enc := b[4+i*SignedHeadSize : 4+(i+1)*SignedHeadSize]
		if prev != nil && bytes.Compare(prev, enc) >= 0 {
			return Heads{}, bad("head %d is not after head %d in encoding order", i, i-1)
		}
		h.Heads[i], _ = UnmarshalSignedHead(enc) // exact size, cannot fail
		prev = enc
	}
	return h, nil
}

// headsDigestTag separates the heads digest from every other hash in the protocol.
const headsDigestTag = "auction-tui/v1/heads-digest\x00"

// HeadsDigest stands for a whole set of signed heads in 36 bytes: peers that hold exactly the
// same heads compute the same digest, so an anti-entropy exchange between peers that agree (the
// usual case) costs one small request and an empty answer instead of two full Heads messages.
// The digest is a hint, not a proof: a peer that sends a wrong one only gets the full heads back.
//
// Encoding (HeadsDigestSize bytes, big-endian): count:u32 sum:[32].
type HeadsDigest struct {
	// Count is the number of distinct heads in the set.
	Count uint32
	// Sum is SHA-256 over a domain tag and the canonical Heads encoding of the whole set (which
	// sorts and de-duplicates it), however many heads it holds.
	Sum [sha256.Size]byte
}

// DigestHeads returns the digest of the set hs. The order of hs and repeated heads do not matter.
func DigestHeads(hs []SignedHead) HeadsDigest {
	return DigestHeadsEncoding(Heads{Heads: hs}.Marshal())
}

// DigestHeadsEncoding returns the digest of the set whose canonical encoding (what Heads.Marshal
// returns) is enc: for a caller that needs the encoding too, so it is built once.
func DigestHeadsEncoding(enc []byte) HeadsDigest {
	h := sha256.New()
	h.Write([]byte(headsDigestTag))
	h.Write(enc)
	var d HeadsDigest
	d.Count = binary.BigEndian.Uint32(enc)
	h.Sum(d.Sum[:0])
	return d
}

// Marshal returns the HeadsDigestSize-byte encoding of d.
func (d HeadsDigest) Marshal() []byte {
	b := make([]byte, 0, HeadsDigestSize)
	b = binary.BigEndian.AppendUint32(b, d.Count)
	return append(b, d.Sum[:]...)
}

// UnmarshalHeadsDigest decodes a HeadsDigest; it must be exactly HeadsDigestSize bytes. Any count
// and sum are well formed. Errors are *DecodeError.
func UnmarshalHeadsDigest(b []byte) (HeadsDigest, error) {
	if len(b) != HeadsDigestSize {
		return HeadsDigest{}, &DecodeError{Type: "heads digest", Reason: fmt.Sprintf("size %d, want %d", len(b), HeadsDigestSize)}
	}
	var d HeadsDigest
	d.Count = binary.BigEndian.Uint32(b)
	copy(d.Sum[:], b[4:])
	return d, nil
}

// FetchRequest asks for entries [Start, End) of the log Key. The answer is a Range.
//
// Encoding (FetchRequestSize bytes, integers big-endian): key start:u64 end:u64.
type FetchRequest struct {
	Key   PeerKey
	Start uint64 // first index wanted
	End   uint64 // index after the last one wanted: Start < End <= Start+MaxRangeEntries
}

// Validate checks that Start < End and End-Start <= MaxRangeEntries. Errors are *DecodeError.
func (f FetchRequest) Validate() error {
	if f.Start >= f.End {
		return &DecodeError{Type: "fetch request", Reason: fmt.Sprintf("empty range [%d, %d)", f.Start, f.End)}
	}
	if f.End-f.Start > MaxRangeEntries {
		return &DecodeError{Type: "fetch request", Reason: fmt.Sprintf("range [%d, %d) covers %d entries, at most %d allowed", f.Start, f.End, f.End-f.Start, MaxRangeEntries)}
	}
	return nil
}

// Marshal returns the encoding of f (FetchRequestSize bytes). It does not validate f.
func (f FetchRequest) Marshal() []byte {
	b := make([]byte, 0, FetchRequestSize)
	b = append(b, f.Key[:]...)
	b = binary.BigEndian.AppendUint64(b, f.Start)
	return binary.BigEndian.AppendUint64(b, f.End)
}

// UnmarshalFetchRequest decodes exactly FetchRequestSize bytes and checks what Validate checks.
// Errors are *DecodeError.
func UnmarshalFetchRequest(b []byte) (FetchRequest, error) {
	var f FetchRequest
	if len(b) != FetchRequestSize {
		return f, &DecodeError{Type: "fetch request", Reason: fmt.Sprintf("size %d, want %d", len(b), FetchRequestSize)}
	}
	copy(f.Key[:], b)
	f.Start = binary.BigEndian.Uint64(b[KeySize:])
	f.End = binary.BigEndian.Uint64(b[KeySize+8:])
	if err := f.Validate(); err != nil {
		return FetchRequest{}, err
	}
	return f, nil
}

// BidReceiptSize is the encoded size of a BidReceipt, in bytes.
const BidReceiptSize = SignedHeadSize + 8

// BidReceipt is a seller's answer to an accepted bid: the index of the bid-accepted entry in the
// seller's log and the seller's signed head of the durable commit that holds it
// (Index < Head.Length). The entry itself reaches the bidder like any other entry, by push or
// fetch, and is verified then.
//
// Encoding: signed_head index:u64.
type BidReceipt struct {
	Head  SignedHead
	Index uint64
}

// Marshal returns the canonical encoding of r (BidReceiptSize bytes).
func (r BidReceipt) Marshal() []byte {
	b := make([]byte, 0, BidReceiptSize)
	b = append(b, r.Head.Marshal()...)
	return binary.BigEndian.AppendUint64(b, r.Index)
}

// UnmarshalBidReceipt decodes exactly BidReceiptSize bytes; the index must lie inside the head.
// It does not verify the head's signature.
func UnmarshalBidReceipt(b []byte) (BidReceipt, error) {
	if len(b) != BidReceiptSize {
		return BidReceipt{}, &DecodeError{Type: "bid receipt", Reason: fmt.Sprintf("size %d, want %d", len(b), BidReceiptSize)}
	}
	h, err := UnmarshalSignedHead(b[:SignedHeadSize])
	if err != nil {
		return BidReceipt{}, err
	}
	r := BidReceipt{Head: h, Index: binary.BigEndian.Uint64(b[SignedHeadSize:])}
	if r.Index >= h.Length {
		return BidReceipt{}, &DecodeError{Type: "bid receipt", Reason: fmt.Sprintf("index %d outside a log of length %d", r.Index, h.Length)}
	}
	return r, nil
}
