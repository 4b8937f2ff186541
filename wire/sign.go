package wire

import (
	"crypto/ed25519"
	"errors"
	"fmt"
)

// Domain separates the signatures of different message types: a signature made for one domain
// never verifies in another, so a signed bid cannot be replayed as a signed head or a DHT record.
type Domain string

// The signing domains of protocol version 1. Each is prefixed to the signed bytes, followed by a
// zero byte, before signing.
const (
	DomainHead   Domain = "auction-tui/v1/head"
	DomainBid    Domain = "auction-tui/v1/bid"
	DomainRecord Domain = "auction-tui/v1/dht-record"
	DomainReply  Domain = "auction-tui/v1/dht-reply"
)

// Sizes of keys and signatures, in bytes.
const (
	KeySize       = ed25519.PublicKeySize
	SignatureSize = ed25519.SignatureSize
)

// ErrBadSignature reports a signature that does not verify over the received bytes.
var ErrBadSignature = errors.New("wire: bad signature")

// PeerKey is a peer's ed25519 public key: its identity and address.
type PeerKey [KeySize]byte

// String returns the key as 64 lowercase hex digits.
func (k PeerKey) String() string { return fmt.Sprintf("%x", k[:]) }

// Short returns the first 8 hex digits of the key, for display.
func (k PeerKey) Short() string { return fmt.Sprintf("%x", k[:4]) }

// Signature is an ed25519 signature.
type Signature [SignatureSize]byte

// signedMessage returns domain || 0x00 || msg.
func signedMessage(d Domain, msg []byte) []byte {
	b := make([]byte, 0, len(d)+1+len(msg))
	b = append(b, d...)
	b = append(b, 0)
	return append(b, msg...)
}

// Sign signs msg under domain d with priv.
func Sign(priv ed25519.PrivateKey, d Domain, msg []byte) Signature {
	var s Signature
	copy(s[:], ed25519.Sign(priv, signedMessage(d, msg)))
	return s
}

// Verify reports whether sig is key's signature of msg under domain d. It returns
// ErrBadSignature when it is not.
func Verify(key PeerKey, d Domain, msg []byte, sig Signature) error {
	if !ed25519.Verify(ed25519.PublicKey(key[:]), signedMessage(d, msg), sig[:]) {
		return ErrBadSignature
	}
	return nil
}

// KeyOf returns the public key of priv as a PeerKey.
func KeyOf(priv ed25519.PrivateKey) PeerKey {
	var k PeerKey
	copy(k[:], priv.Public().(ed25519.PublicKey))
	return k
}
