package wire

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
)

// HashSize is the size of a Merkle tree hash (SHA-256, RFC 6962), in bytes.
const HashSize = 32

// Hash is a Merkle tree hash.
type Hash [HashSize]byte

// Head is the state of one append-only log: its writer's key, its length in entries, the RFC 6962
// Merkle root over its entries, and the fork counter (0 unless the writer truncated its log).
type Head struct {
	Key    PeerKey
	Length uint64
	Root   Hash
	Fork   uint64
}

// HeadSize is the encoded size of a Head, in bytes.
const HeadSize = KeySize + 8 + HashSize + 8

// SignedHeadSize is the encoded size of a SignedHead, in bytes.
const SignedHeadSize = HeadSize + SignatureSize

// SignedHead is a Head signed by its writer under DomainHead.
type SignedHead struct {
	Head
	Sig Signature
}

// AppendBinary appends the canonical encoding of h to b.
func (h Head) AppendBinary(b []byte) []byte {
	b = append(b, h.Key[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Length)
	b = append(b, h.Root[:]...)
	return binary.BigEndian.AppendUint64(b, h.Fork)
}

// Marshal returns the canonical encoding of h (HeadSize bytes).
func (h Head) Marshal() []byte { return h.AppendBinary(make([]byte, 0, HeadSize)) }

// SignHead signs h with priv, whose public key must be h.Key.
func SignHead(priv ed25519.PrivateKey, h Head) SignedHead {
	return SignedHead{Head: h, Sig: Sign(priv, DomainHead, h.Marshal())}
}

// Verify checks the head's signature against its own key. It returns ErrBadSignature when the
// signature does not verify.
func (s SignedHead) Verify() error { return Verify(s.Key, DomainHead, s.Head.Marshal(), s.Sig) }

// Marshal returns the canonical encoding of s (SignedHeadSize bytes).
func (s SignedHead) Marshal() []byte {
	b := s.Head.AppendBinary(make([]byte, 0, SignedHeadSize))
	return append(b, s.Sig[:]...)
}

// UnmarshalSignedHead decodes exactly SignedHeadSize bytes. It does not verify the signature.
func UnmarshalSignedHead(b []byte) (SignedHead, error) {
	var s SignedHead
	if len(b) != SignedHeadSize {
		return s, &DecodeError{Type: "signed head", Reason: fmt.Sprintf("size %d, want %d", len(b), SignedHeadSize)}
	}
	copy(s.Key[:], b)
	s.Length = binary.BigEndian.Uint64(b[32:])
	copy(s.Root[:], b[40:])
	s.Fork = binary.BigEndian.Uint64(b[72:])
	copy(s.Sig[:], b[80:])
	return s, nil
}

// DecodeError reports bytes (or a value about to be encoded) that are not a canonical, valid
// encoding of Type. Match it with errors.As; errors.Is(err, ErrBadAmount) also holds when the
// cause is a bad amount.
type DecodeError struct {
	Type   string // what was being decoded, for example "bid"
	Reason string // what is wrong with it
	Err    error  // the underlying cause, if any (for example an *AmountError); may be nil
}

// Error returns "wire: bad <type>: <reason>".
func (e *DecodeError) Error() string { return "wire: bad " + e.Type + ": " + e.Reason }

// Unwrap returns the underlying cause, or nil.
func (e *DecodeError) Unwrap() error { return e.Err }
