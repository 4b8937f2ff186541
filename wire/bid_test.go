package wire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// testKey returns a deterministic key pair made from seed.
func testKey(seed byte) (ed25519.PrivateKey, PeerKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv, KeyOf(priv)
}

// testSignedBid returns a valid bid signed by the key made from seed.
func testSignedBid(seed byte, auction AuctionID, amount Amount) SignedBid {
	priv, key := testKey(seed)
	return SignBid(priv, Bid{Auction: auction, Amount: amount, Bidder: key, Time: 1_700_000_000_000})
}

func TestDeriveAuctionID(t *testing.T) {
	_, seller := testKey(1)
	// Recompute the documented formula independently.
	h := sha256.New()
	h.Write([]byte("auction-tui/v1/auction-id"))
	h.Write([]byte{0})
	h.Write(seller[:])
	var idx [8]byte
	binary.BigEndian.PutUint64(idx[:], 7)
	h.Write(idx[:])
	want := h.Sum(nil)[:AuctionIDSize]
	got := DeriveAuctionID(seller, 7)
	if !bytes.Equal(got[:], want) {
		t.Fatalf("DeriveAuctionID = %x, want %x", got, want)
	}
	if DeriveAuctionID(seller, 7) != got {
		t.Fatal("DeriveAuctionID not deterministic")
	}
	if DeriveAuctionID(seller, 8) == got {
		t.Fatal("different index gives the same id")
	}
	_, other := testKey(2)
	if DeriveAuctionID(other, 7) == got {
		t.Fatal("different seller gives the same id")
	}
	s := got.String()
	if len(s) != 32 || strings.ToLower(s) != s {
		t.Fatalf("String() = %q, want 32 lowercase hex digits", s)
	}
	for _, in := range []string{s, strings.ToUpper(s)} {
		back, err := ParseAuctionID(in)
		if err != nil || back != got {
			t.Fatalf("ParseAuctionID(%q) = %v, %v", in, back, err)
		}
	}
}

func TestAuctionIDPrefix(t *testing.T) {
	id := DeriveAuctionID(PeerKey{3}, 4)
	s := id.String()
	if id.Short() != s[:8] {
		t.Fatalf("Short() = %q, want %q", id.Short(), s[:8])
	}
	for _, p := range []string{"", s[:1], s[:6], strings.ToUpper(s[:10]), s} {
		if !id.HasPrefix(p) {
			t.Errorf("HasPrefix(%q) = false", p)
		}
	}
	other := s[:5] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", s[5])+1)%16])
	for _, p := range []string{other, s + "0", "g", "-", s[:3] + " "} {
		if id.HasPrefix(p) {
			t.Errorf("HasPrefix(%q) = true", p)
		}
	}
}

func TestParseAuctionIDRejects(t *testing.T) {
	good := DeriveAuctionID(PeerKey{}, 0).String()
	for _, in := range []string{"", good[:31], good + "0", good[:30] + "zz", " " + good[:31],
		good[:31] + "\x00", strings.Repeat("a", 1000)} {
		_, err := ParseAuctionID(in)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("ParseAuctionID(%q) = %v, want *DecodeError", in, err)
		}
	}
}

func TestBidEncoding(t *testing.T) {
	_, bidder := testKey(3)
	b := Bid{
		Auction: AuctionID{0: 0xaa, 15: 0xbb},
		Amount:  75_500_000,
		Bidder:  bidder,
		Time:    0x0102030405060708,
	}
	enc := b.Marshal()
	if len(enc) != BidSize {
		t.Fatalf("len = %d, want %d", len(enc), BidSize)
	}
	want := []byte{BidVersion}
	want = append(want, b.Auction[:]...)
	want = append(want, 0, 0, 0, 0, 0x04, 0x80, 0x09, 0xe0) // 75_500_000 = 0x48009e0
	want = append(want, bidder[:]...)
	want = append(want, 1, 2, 3, 4, 5, 6, 7, 8)
	if !bytes.Equal(enc, want) {
		t.Fatalf("Marshal = %x\nwant      %x", enc, want)
	}
}

func TestSignedBidRoundTrip(t *testing.T) {
	id := DeriveAuctionID(PeerKey{9}, 3)
	for _, amount := range []Amount{1, 75_500_000, MaxAmount} {
		s := testSignedBid(4, id, amount)
		if err := s.Verify(); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		enc := s.Marshal()
		if len(enc) != SignedBidSize {
			t.Fatalf("len = %d, want %d", len(enc), SignedBidSize)
		}
		got, err := UnmarshalSignedBid(enc)
		if err != nil {
			t.Fatalf("UnmarshalSignedBid: %v", err)
		}
		if got != s {
			t.Fatalf("round trip: got %+v, want %+v", got, s)
		}
		if err := got.Verify(); err != nil {
			t.Fatalf("Verify after decode: %v", err)
		}
	}
}

func TestSignedBidRejects(t *testing.T) {
	good := testSignedBid(5, AuctionID{1}, 80_000_000)
	enc := good.Marshal()
	with := func(f func(b []byte)) []byte {
		b := bytes.Clone(enc)
		f(b)
		return b
	}
	priv, key := testKey(5)
	resign := func(b Bid) []byte { return SignBid(priv, b).Marshal() }
	tests := []struct {
		name   string
		in     []byte
		reason string
	}{
		{"empty", nil, "size"},
		{"short", enc[:SignedBidSize-1], "size"},
		{"long", append(bytes.Clone(enc), 0), "size"},
		{"huge", make([]byte, 1<<20), "size"},
		{"version 0", with(func(b []byte) { b[0] = 0 }), "version"},
		{"version 2", with(func(b []byte) { b[0] = 2 }), "version"},
		{"zero amount", resign(Bid{Auction: AuctionID{1}, Amount: 0, Bidder: key}), "zero"},
		{"amount above max", resign(Bid{Auction: AuctionID{1}, Amount: MaxAmount + 1, Bidder: key}), "maximum"},
		{"negative time", resign(Bid{Auction: AuctionID{1}, Amount: 1, Bidder: key, Time: -1}), "negative time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalSignedBid(tt.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DecodeError", err)
			}
			if !strings.Contains(de.Reason, tt.reason) {
				t.Fatalf("reason %q does not mention %q", de.Reason, tt.reason)
			}
		})
	}
}

// TestSignedBidTamper flips every bit of an encoded signed bid: each change must fail to decode
// or fail to verify.
func TestSignedBidTamper(t *testing.T) {
	enc := testSignedBid(6, AuctionID{7}, 12_345_678).Marshal()
	for i := range enc {
		for bit := 0; bit < 8; bit++ {
			b := bytes.Clone(enc)
			b[i] ^= 1 << bit
			s, err := UnmarshalSignedBid(b)
			if err != nil {
				continue
			}
			if err := s.Verify(); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("byte %d bit %d flipped: Verify = %v, want ErrBadSignature", i, bit, err)
			}
		}
	}
}

func TestSignBidWrongBidder(t *testing.T) {
	priv, _ := testKey(7)
	_, other := testKey(8)
	s := SignBid(priv, Bid{Auction: AuctionID{1}, Amount: 1, Bidder: other})
	if err := s.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bid naming another bidder: Verify = %v, want ErrBadSignature", err)
	}
}

// TestSignatureDomains checks that a signature made in one domain verifies in no other, and in
// particular that a signed bid's signature is not a valid head signature over the same bytes.
func TestSignatureDomains(t *testing.T) {
	priv, key := testKey(9)
	s := SignBid(priv, Bid{Auction: AuctionID{1}, Amount: 1, Bidder: key, Time: 5})
	msg := s.Bid.Marshal()
	for _, d := range []Domain{DomainHead, DomainRecord, DomainReply} {
		if err := Verify(key, d, msg, s.Sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("bid signature verifies under %q", d)
		}
	}
	if err := Verify(key, DomainBid, msg, s.Sig); err != nil {
		t.Fatalf("bid signature does not verify under its own domain: %v", err)
	}
	// A head signature over some bytes does not verify as a bid over the same bytes.
	h := SignHead(priv, Head{Key: key, Length: 3, Fork: 0})
	if err := Verify(key, DomainBid, h.Head.Marshal(), h.Sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("head signature verifies as a bid")
	}
	// And a head carrying a bid's signature does not verify.
	forged := SignedHead{Head: h.Head, Sig: Sign(priv, DomainBid, h.Head.Marshal())}
	if err := forged.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("head signed under DomainBid verifies as a head")
	}
}

// FuzzUnmarshalSignedBid checks that decoding never panics and that every accepted input encodes
// back to the same bytes.
func FuzzUnmarshalSignedBid(f *testing.F) {
	f.Add(testSignedBid(1, AuctionID{1}, 80_000_000).Marshal())
	f.Add(testSignedBid(2, DeriveAuctionID(PeerKey{1}, 0), MaxAmount).Marshal())
	f.Add(make([]byte, SignedBidSize))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := UnmarshalSignedBid(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not *DecodeError", err)
			}
			return
		}
		if out := s.Marshal(); !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, out)
		}
		_ = s.Verify()
	})
}

func TestVerifyBidsMatchesVerify(t *testing.T) {
	var bids []SignedBid
	for i := range 150 {
		_, priv, _ := ed25519.GenerateKey(nil)
		b := SignBid(priv, Bid{Amount: Amount(i + 1), Bidder: KeyOf(priv), Time: int64(i)})
		switch i % 7 {
		case 3:
			b.Sig[5] ^= 1 // bad signature
		case 5:
			b.Amount++ // signed bytes changed
		}
		bids = append(bids, b)
	}
	for _, n := range []int{0, 1, 2, 64, 65, 150} {
		got := VerifyBids(bids[:n])
		for i, ok := range got {
			if want := bids[i].Verify() == nil; ok != want {
				t.Fatalf("n=%d bid %d: batch says %v, single says %v", n, i, ok, want)
			}
		}
	}
}

func BenchmarkVerifyBids(b *testing.B) {
	var bids []SignedBid
	for i := range 1024 {
		_, priv, _ := ed25519.GenerateKey(nil)
		bids = append(bids, SignBid(priv, Bid{Amount: Amount(i + 1), Bidder: KeyOf(priv)}))
	}
	b.Run("single", func(b *testing.B) {
		for range b.N {
			for _, x := range bids {
				_ = x.Verify()
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bids))/1e3, "us/sig")
	})
	// Batches of the sizes replay sees: one bid per push when bids come one at a time, more
	// when pushes coalesce under load, BidBatch in catch-up.
	for _, n := range []int{2, 8, BidBatch} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			for range b.N {
				for i := 0; i+n <= len(bids); i += n {
					VerifyBids(bids[i : i+n])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(len(bids)/n*n))/1e3, "us/sig")
		})
	}
}
