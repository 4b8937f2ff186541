package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net/netip"
	"testing"
)

func dhtTestKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func sampleDHTRecord(t testing.TB, topic [DHTIDSize]byte) DHTRecord {
	t.Helper()
	r := DHTRecord{Expiry: 1_800_000_000_000, Addrs: []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:4000"),
		netip.MustParseAddrPort("[2001:db8::1]:4001"),
	}}
	if err := SignDHTRecord(dhtTestKey(7), topic, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func sampleDHTRequests(t testing.TB) []*DHTRequest {
	var topic [DHTIDSize]byte
	topic[0] = 0xAB
	rec := sampleDHTRecord(t, topic)
	ann := &DHTRequest{Kind: DHTAnnounce, ID: DHTRequestID{1, 2, 3}, HasSender: true, Sender: KeyOf(dhtTestKey(7)),
		Target: topic, Token: DHTToken{9, 9}, Record: rec}
	ann.Proof = Sign(dhtTestKey(7), DomainRecord, AnnounceProofMessage(ann.ID, ann.Token, topic, rec.Sig))
	return []*DHTRequest{
		{Kind: DHTPing, ID: DHTRequestID{1}},
		{Kind: DHTPing, ID: DHTRequestID{2}, HasSender: true, Sender: KeyOf(dhtTestKey(1))},
		{Kind: DHTFindNode, ID: DHTRequestID{3}, HasSender: true, Sender: KeyOf(dhtTestKey(1)), Target: topic},
		{Kind: DHTGetRecords, ID: DHTRequestID{4}, Target: topic},
		ann,
	}
}

func sampleDHTReplies(t testing.TB) [][]byte {
	var topic [DHTIDSize]byte
	rec := sampleDHTRecord(t, topic)
	priv := dhtTestKey(3)
	nodes := make([]DHTNode, MaxDHTNodes)
	for i := range nodes {
		nodes[i] = DHTNode{Key: KeyOf(dhtTestKey(byte(10 + i))), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)}), uint16(5000+i))}
	}
	reps := []*DHTReply{
		{ID: DHTRequestID{1}, Responder: KeyOf(priv), Observed: netip.MustParseAddrPort("127.0.0.1:9")},
		{ID: DHTRequestID{2}, Responder: KeyOf(priv), Status: DHTBadToken, Observed: netip.MustParseAddrPort("[::1]:9"), Token: DHTToken{5}},
		{ID: DHTRequestID{3}, Responder: KeyOf(priv), Observed: netip.MustParseAddrPort("127.0.0.1:9"), Nodes: nodes[:5], Records: []DHTRecord{rec, rec}},
		{ID: DHTRequestID{4}, Responder: KeyOf(priv), Observed: netip.MustParseAddrPort("127.0.0.1:9"), Nodes: nodes},
	}
	var out [][]byte
	for _, r := range reps {
		b, err := AppendDHTReply(nil, priv, r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestDHTRequestRoundTrip(t *testing.T) {
	for _, req := range sampleDHTRequests(t) {
		t.Run(req.Kind.String(), func(t *testing.T) {
			b, err := AppendDHTRequest(nil, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != req.EncodedSize() || len(b) > MaxDHTDatagram {
				t.Fatalf("size %d, EncodedSize %d", len(b), req.EncodedSize())
			}
			if b[0]&0x40 != 0 {
				t.Fatalf("first byte %#x has the QUIC bit set", b[0])
			}
			if k, ok := DHTKindOf(b); !ok || k != req.Kind {
				t.Fatalf("DHTKindOf = %v, %v", k, ok)
			}
			got, err := DecodeDHTRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			b2, _ := AppendDHTRequest(nil, got)
			if !bytes.Equal(b, b2) {
				t.Fatal("re-encoding differs")
			}
			if req.Kind == DHTAnnounce {
				if err := VerifyDHTRecord(req.Target, &got.Record); err != nil {
					t.Fatal(err)
				}
				msg := AnnounceProofMessage(got.ID, got.Token, got.Target, got.Record.Sig)
				if err := Verify(got.Record.Key, DomainRecord, msg, got.Proof); err != nil {
					t.Fatal(err)
				}
				// A record signature never verifies as an announce proof, nor for another topic.
				if Verify(got.Record.Key, DomainRecord, msg, got.Record.Sig) == nil {
					t.Fatal("record signature verified as a proof")
				}
				other := req.Target
				other[1] ^= 1
				if !errors.Is(VerifyDHTRecord(other, &got.Record), ErrBadSignature) {
					t.Fatal("record verified under another topic")
				}
			}
			for i := range len(b) {
				if _, err := DecodeDHTRequest(b[:i]); err == nil {
					t.Fatalf("truncated to %d bytes decoded", i)
				}
			}
			if _, err := DecodeDHTRequest(append(b, 0)); err == nil {
				t.Fatal("trailing byte accepted")
			}
		})
	}
}

func TestDHTReplyRoundTrip(t *testing.T) {
	for i, b := range sampleDHTReplies(t) {
		rep, err := DecodeDHTReply(b)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if err := VerifyDHTReply(b, rep); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if rep.EncodedSize() != len(b) {
			t.Fatalf("%d: EncodedSize %d, len %d", i, rep.EncodedSize(), len(b))
		}
		bad := bytes.Clone(b)
		bad[20] ^= 1
		if r2, err := DecodeDHTReply(bad); err == nil && VerifyDHTReply(bad, r2) == nil {
			t.Fatalf("%d: flipped byte verified", i)
		}
		if _, err := DecodeDHTReply(append(bytes.Clone(b), 0)); err == nil {
			t.Fatalf("%d: trailing byte accepted", i)
		}
		if _, err := DecodeDHTRequest(b); err == nil {
			t.Fatalf("%d: reply decoded as request", i)
		}
	}
}

func TestDHTDecodeRejects(t *testing.T) {
	good := sampleDHTReplies(t)[0]
	mapped := bytes.Clone(good)
	// Observed address starts after magic, kind, id, responder and status.
	off := dhtHeaderSize + KeySize + 1
	mapped = append(mapped[:off:off], append([]byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1, 0, 9}, good[off+7:]...)...)
	tooMany := bytes.Clone(good)
	tooMany[off+7+DHTTokenSize] = MaxDHTNodes + 1
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte{0x4A}, good[1:]...)},
		{"huge", make([]byte, MaxDHTDatagram+1)},
		{"mapped address", mapped},
		{"too many nodes", tooMany},
		{"bad status", func() []byte { c := bytes.Clone(good); c[off-1] = 99; return c }()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var de *DecodeError
			if _, err := DecodeDHTReply(c.b); !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DecodeError", err)
			}
		})
	}
	if _, err := DecodeDHTRequest([]byte{DHTMagic, byte(DHTPing), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}); err == nil {
		t.Fatal("unknown flags accepted")
	}
}

func TestDHTReplyLimits(t *testing.T) {
	priv := dhtTestKey(3)
	r := &DHTReply{Responder: KeyOf(priv), Observed: netip.MustParseAddrPort("127.0.0.1:9"), Nodes: make([]DHTNode, MaxDHTNodes+1)}
	if _, err := AppendDHTReply(nil, priv, r); err == nil {
		t.Fatal("too many nodes encoded")
	}
	var topic [DHTIDSize]byte
	rec := sampleDHTRecord(t, topic)
	r = &DHTReply{Responder: KeyOf(priv), Observed: netip.MustParseAddrPort("127.0.0.1:9"), Records: make([]DHTRecord, 10)}
	for i := range r.Records {
		r.Records[i] = rec
	}
	if _, err := AppendDHTReply(nil, priv, r); err == nil {
		t.Fatal("oversized reply encoded")
	}
	if err := SignDHTRecord(priv, topic, &DHTRecord{Addrs: make([]netip.AddrPort, MaxDHTRecordAddrs+1)}); err == nil {
		t.Fatal("record with too many addresses signed")
	}
	if MaxDHTRecordSize > MaxDHTDatagram/3 {
		t.Fatalf("MaxDHTRecordSize %d is too large", MaxDHTRecordSize)
	}
}

func FuzzDHTRequest(f *testing.F) {
	for _, r := range sampleDHTRequests(f) {
		b, _ := AppendDHTRequest(nil, r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeDHTRequest(b)
		if err != nil {
			return
		}
		b2, err := AppendDHTRequest(nil, req)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("not canonical:\n%x\n%x", b, b2)
		}
	})
}

func FuzzDHTReply(f *testing.F) {
	for _, b := range sampleDHTReplies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := DecodeDHTReply(b)
		if err != nil {
			return
		}
		body, err := appendDHTReplyBody(nil, rep)
		if err != nil {
			t.Fatalf("decoded reply does not encode: %v", err)
		}
		if !bytes.Equal(b, append(body, rep.Sig[:]...)) {
			t.Fatalf("not canonical:\n%x\n%x", b, body)
		}
	})
}
