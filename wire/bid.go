package wire

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/hdevalence/ed25519consensus"
)

// auctionIDDomain prefixes the hash input of DeriveAuctionID.
const auctionIDDomain = "auction-tui/v1/auction-id"

// DeriveAuctionID returns the id of the auction opened by the entry at index openIndex (0-based)
// of seller's log: the first AuctionIDSize bytes of
// SHA-256("auction-tui/v1/auction-id" || 0x00 || seller || big-endian uint64 openIndex).
// Every peer computes the same id from the same log.
func DeriveAuctionID(seller PeerKey, openIndex uint64) AuctionID {
	var in [len(auctionIDDomain) + 1 + KeySize + 8]byte
	n := copy(in[:], auctionIDDomain)
	in[n] = 0
	n++
	n += copy(in[n:], seller[:])
	binary.BigEndian.PutUint64(in[n:], openIndex)
	sum := sha256.Sum256(in[:])
	var id AuctionID
	copy(id[:], sum[:])
	return id
}

// String returns the id as 32 lowercase hex digits.
func (id AuctionID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits of the id, for display.
func (id AuctionID) Short() string { return hex.EncodeToString(id[:4]) }

// HasPrefix reports whether prefix (hex digits, upper or lower case) begins the id's String form.
// An empty prefix matches every id. Commands use it to accept any unique prefix of an id.
func (id AuctionID) HasPrefix(prefix string) bool {
	if len(prefix) > 2*AuctionIDSize {
		return false
	}
	full := id.String()
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if c >= 'A' && c <= 'F' {
			c += 'a' - 'A'
		}
		if c != full[i] {
			return false
		}
	}
	return true
}

// ParseAuctionID parses an auction id written as exactly 32 hex digits (upper or lower case).
// Prefix matching is the caller's job; this accepts only a full id. Errors are *DecodeError.
func ParseAuctionID(s string) (AuctionID, error) {
	var id AuctionID
	if len(s) != 2*AuctionIDSize {
		if len(s) > 4*AuctionIDSize {
			return id, &DecodeError{Type: "auction id", Reason: fmt.Sprintf("%d characters, want %d hex digits", len(s), 2*AuctionIDSize)}
		}
		return id, &DecodeError{Type: "auction id", Reason: fmt.Sprintf("%q has %d characters, want %d hex digits", s, len(s), 2*AuctionIDSize)}
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return AuctionID{}, &DecodeError{Type: "auction id", Reason: fmt.Sprintf("%q is not hex", s)}
	}
	return id, nil
}

// BidVersion is the version byte that starts every encoded Bid.
const BidVersion = 1

// BidSize is the encoded size of a Bid, in bytes: version, auction id, amount, bidder key, time.
const BidSize = 1 + AuctionIDSize + 8 + KeySize + 8

// SignedBidSize is the encoded size of a SignedBid, in bytes: the Bid followed by the signature.
const SignedBidSize = BidSize + SignatureSize

// AppendBinary appends the canonical encoding of b (BidSize bytes) to dst: the version byte
// BidVersion, the auction id, the amount as big-endian uint64, the bidder key, and the time as
// big-endian int64.
func (b Bid) AppendBinary(dst []byte) []byte {
	dst = append(dst, BidVersion)
	dst = append(dst, b.Auction[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.Amount))
	dst = append(dst, b.Bidder[:]...)
	return binary.BigEndian.AppendUint64(dst, uint64(b.Time))
}

// Marshal returns the canonical encoding of b (BidSize bytes). These are the bytes the bidder signs.
func (b Bid) Marshal() []byte { return b.AppendBinary(make([]byte, 0, BidSize)) }

// Validate checks the fields a decoder checks: the amount is Valid and the time is not negative.
// It does not check the signature or any auction rule.
func (b Bid) Validate() error {
	if err := b.Amount.Valid(); err != nil {
		return &DecodeError{Type: "bid", Reason: err.Error(), Err: err}
	}
	if b.Time < 0 {
		return &DecodeError{Type: "bid", Reason: fmt.Sprintf("negative time %d", b.Time)}
	}
	return nil
}

// SignBid signs b with priv under DomainBid. The caller sets b.Bidder to priv's public key
// (KeyOf(priv)); SignBid does not change it, so a bid naming another key never verifies.
func SignBid(priv ed25519.PrivateKey, b Bid) SignedBid {
	return SignedBid{Bid: b, Sig: Sign(priv, DomainBid, b.Marshal())}
}

// Verify checks that s.Sig is s.Bidder's signature of s.Bid.Marshal() under DomainBid. It returns
// ErrBadSignature when it is not. It does not check the amount or any auction rule.
//
// Bid signatures are checked with the ZIP215 rules (github.com/hdevalence/ed25519consensus), here
// and in VerifyBids, so that single and batch verification always reach the same verdict on every
// peer: every signature crypto/ed25519 makes is valid under them.
func (s SignedBid) Verify() error {
	if !ed25519consensus.Verify(ed25519.PublicKey(s.Bidder[:]), signedMessage(DomainBid, s.Bid.Marshal()), s.Sig[:]) {
		return ErrBadSignature
	}
	return nil
}

// BidBatch is the number of signatures VerifyBids checks in one batch.
const BidBatch = 64

// VerifyBids checks the signatures of bids and reports each verdict in ok (len(ok) == len(bids)).
// It verifies batches of BidBatch with one multi-scalar multiplication, about twice as fast as one
// by one, and falls back to one-by-one checks only for a batch that fails; the verdicts are exactly
// those of SignedBid.Verify.
func VerifyBids(bids []SignedBid) (ok []bool) {
	ok = make([]bool, len(bids))
	for start := 0; start < len(bids); start += BidBatch {
		part := bids[start:min(start+BidBatch, len(bids))]
		if len(part) > 1 {
			v := ed25519consensus.NewPreallocatedBatchVerifier(len(part))
			for _, b := range part {
				v.Add(ed25519.PublicKey(b.Bidder[:]), signedMessage(DomainBid, b.Bid.Marshal()), b.Sig[:])
			}
			if v.Verify() {
				for i := range part {
					ok[start+i] = true
				}
				continue
			}
		}
		for i, b := range part {
			ok[start+i] = b.Verify() == nil
		}
	}
	return ok
}

// AppendBinary appends the canonical encoding of s (SignedBidSize bytes) to dst.
func (s SignedBid) AppendBinary(dst []byte) []byte {
	return append(s.Bid.AppendBinary(dst), s.Sig[:]...)
}

// Marshal returns the canonical encoding of s (SignedBidSize bytes).
func (s SignedBid) Marshal() []byte { return s.AppendBinary(make([]byte, 0, SignedBidSize)) }

// UnmarshalSignedBid decodes exactly SignedBidSize bytes. It checks the version byte, that the
// amount is Valid and that the time is not negative, but not the signature: call Verify. Errors
// are *DecodeError.
func UnmarshalSignedBid(b []byte) (SignedBid, error) {
	if len(b) != SignedBidSize {
		return SignedBid{}, &DecodeError{Type: "bid", Reason: fmt.Sprintf("size %d, want %d", len(b), SignedBidSize)}
	}
	return decodeSignedBid(b)
}

// decodeSignedBid decodes b, which holds exactly SignedBidSize bytes.
func decodeSignedBid(b []byte) (SignedBid, error) {
	var s SignedBid
	if b[0] != BidVersion {
		return s, &DecodeError{Type: "bid", Reason: fmt.Sprintf("version %d, want %d", b[0], BidVersion)}
	}
	b = b[1:]
	copy(s.Auction[:], b)
	b = b[AuctionIDSize:]
	s.Amount = Amount(binary.BigEndian.Uint64(b))
	b = b[8:]
	copy(s.Bidder[:], b)
	b = b[KeySize:]
	s.Time = int64(binary.BigEndian.Uint64(b))
	b = b[8:]
	copy(s.Sig[:], b)
	if err := s.Bid.Validate(); err != nil {
		return SignedBid{}, err
	}
	return s, nil
}
