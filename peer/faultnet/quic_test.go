package faultnet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

const alpn = "faultnet-test"

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
}

// TestQUICOverLossyLink runs a real quic-go v0.65 transport on wrapped sockets at both ends,
// with 20% loss, jitter, reordering and duplication on every link, and checks that a stream
// still delivers its bytes exactly.
func TestQUICOverLossyLink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := New(2024, WithFaults(Faults{Loss: 0.2, Delay: time.Millisecond, Jitter: 2 * time.Millisecond,
		Reorder: 0.1, ReorderDelay: 5 * time.Millisecond, Duplicate: 0.05}))
	t.Cleanup(func() { n.Close() })
	srvConn, cliConn := n.Wrap(udp(t)), n.Wrap(udp(t))
	srvTr, cliTr := &quic.Transport{Conn: srvConn}, &quic.Transport{Conn: cliConn}
	t.Cleanup(func() { cliTr.Close(); srvTr.Close() })

	qconf := &quic.Config{HandshakeIdleTimeout: 20 * time.Second, MaxIdleTimeout: 30 * time.Second}
	ln, err := srvTr.Listen(&tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, NextProtos: []string{alpn}}, qconf)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 256<<10)
	rand.Read(payload)

	srvErr := make(chan error, 1)
	go func() {
		srvErr <- func() error {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return err
			}
			s, err := conn.AcceptStream(ctx)
			if err != nil {
				return err
			}
			got, err := io.ReadAll(s)
			if err != nil {
				return err
			}
			if _, err := s.Write([]byte{byte(len(got) >> 16), byte(len(got) >> 8), byte(len(got))}); err != nil {
				return err
			}
			if !bytes.Equal(got, payload) {
				_ = s.Close()
				return io.ErrUnexpectedEOF
			}
			return s.Close()
		}()
	}()

	conn, err := cliTr.Dial(ctx, srvConn.LocalAddr(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}}, qconf)
	if err != nil {
		t.Fatalf("dial over a 20%% lossy link: %v", err)
	}
	defer conn.CloseWithError(0, "")
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ack, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-srvErr; err != nil {
		t.Fatalf("server: %v", err)
	}
	if len(ack) != 3 {
		t.Fatalf("server's acknowledgement is %d bytes, want 3", len(ack))
	}
	if got := int(ack[0])<<16 | int(ack[1])<<8 | int(ack[2]); got != len(payload) {
		t.Fatalf("server read %d bytes, want %d", got, len(payload))
	}
	st := n.Stats()
	if st.Lost == 0 || st.Reordered == 0 {
		t.Fatalf("the link was not faulty: %+v", st)
	}
	t.Logf("packets: %+v", st)
}
