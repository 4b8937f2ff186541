package rpc

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/auction-tui/auction-tui/wire"
)

// resetKeyInfo is the HKDF info string of the QUIC stateless reset key.
const resetKeyInfo = "auction-tui/v1/quic-stateless-reset"

// statelessResetKey derives the QUIC stateless reset key from the identity key, so that a
// restarted peer can still reset connections its previous run held.
func statelessResetKey(priv ed25519.PrivateKey) (*quic.StatelessResetKey, error) {
	b, err := hkdf.Key(sha256.New, priv.Seed(), nil, resetKeyInfo, 32)
	if err != nil {
		return nil, err
	}
	var k quic.StatelessResetKey
	copy(k[:], b)
	return &k, nil
}

// selfCert makes a self-signed certificate whose key is priv.
func selfCert(priv ed25519.PrivateKey) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, err
	}
	key := wire.KeyOf(priv)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: key.String()},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

var errBadCert = errors.New("rpc: peer certificate is not a single ed25519 certificate")

// keyFromCerts extracts the peer key from the raw certificate chain. TLS 1.3 has already checked
// that the peer holds the private key (CertificateVerify), so the key is proven.
func keyFromCerts(raw [][]byte) (wire.PeerKey, error) {
	var k wire.PeerKey
	if len(raw) != 1 {
		return k, errBadCert
	}
	c, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return k, err
	}
	pub, ok := c.PublicKey.(ed25519.PublicKey)
	if !ok || len(pub) != wire.KeySize {
		return k, errBadCert
	}
	copy(k[:], pub)
	return k, nil
}

// serverTLS is the listener's configuration: it requires a client certificate and accepts any
// well-formed ed25519 one except its own key.
func (e *Endpoint) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{e.cert},
		ClientAuth:             tls.RequireAnyClientCert,
		NextProtos:             []string{ALPN},
		SessionTicketsDisabled: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			k, err := keyFromCerts(raw)
			if err != nil {
				return err
			}
			if k == e.key {
				return ErrSelf
			}
			return nil
		},
	}
}

// clientTLS is the dialer's configuration pinning want; a mismatch is stored in mismatch.
func (e *Endpoint) clientTLS(want wire.PeerKey, mismatch *atomic.Pointer[KeyMismatchError]) *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{e.cert},
		NextProtos:             []string{ALPN},
		ServerName:             "auction-tui",
		InsecureSkipVerify:     true, // replaced by the key pin below
		SessionTicketsDisabled: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			k, err := keyFromCerts(raw)
			if err != nil {
				return err
			}
			if k != want {
				m := &KeyMismatchError{Want: want, Got: k}
				mismatch.Store(m)
				return m
			}
			return nil
		},
	}
}
