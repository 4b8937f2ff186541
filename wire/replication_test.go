package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// testLog returns n encoded profile entries.
func testLog(t testing.TB, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		out[i] = mustMarshal(t, Entry{Time: int64(i), Event: &Profile{Name: strings.Repeat("x", 1+i%MaxNameLen)}})
	}
	return out
}

var rangeFactory = compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// compactRange returns the compact range of entries [begin, end) of log.
func compactRange(t testing.TB, log [][]byte, begin, end int) *compact.Range {
	t.Helper()
	r := rangeFactory.NewEmptyRange(uint64(begin))
	for _, e := range log[begin:end] {
		if err := r.Append(rfc6962.DefaultHasher.HashLeaf(e), nil); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// testRange returns a Range of log[start:end] with a signed head over the whole log and a proof.
func testRange(t testing.TB, log [][]byte, start, end int, withProof bool) Range {
	t.Helper()
	priv, key := testKey(11)
	root, err := compactRange(t, log, 0, len(log)).GetRootHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := Head{Key: key, Length: uint64(len(log))}
	copy(h.Root[:], root)
	r := Range{Head: SignHead(priv, h), Start: uint64(start), Entries: log[start:end]}
	if withProof {
		for _, p := range compactRange(t, log, end, len(log)).Hashes() {
			r.Proof = append(r.Proof, Hash(p))
		}
	}
	return r
}

func TestRangeProofSize(t *testing.T) {
	for begin := uint64(0); begin < 70; begin++ {
		for end := begin; end < 140; end++ {
			if got, want := RangeProofSize(begin, end), compact.RangeSize(begin, end); got != want {
				t.Fatalf("RangeProofSize(%d, %d) = %d, want %d", begin, end, got, want)
			}
		}
	}
	for _, c := range [][2]uint64{{1, 1 << 63}, {1<<63 - 1, 1 << 63}, {12345, 1<<64 - 1}, {0, 1<<64 - 1}} {
		if got, want := RangeProofSize(c[0], c[1]), compact.RangeSize(c[0], c[1]); got != want {
			t.Fatalf("RangeProofSize(%d, %d) = %d, want %d", c[0], c[1], got, want)
		}
		if got := RangeProofSize(c[0], c[1]); got > MaxProofHashes {
			t.Fatalf("RangeProofSize(%d, %d) = %d above MaxProofHashes", c[0], c[1], got)
		}
	}
	if RangeProofSize(5, 5) != 0 || RangeProofSize(6, 5) != 0 {
		t.Fatal("empty range has a nonzero proof size")
	}
}

// TestRangeProofVerifies shows how a receiver holding entries [0, Start) checks a partial Range
// against the signed root using the proof.
func TestRangeProofVerifies(t *testing.T) {
	log := testLog(t, 37)
	for _, c := range [][2]int{{0, 37}, {0, 1}, {0, 16}, {5, 20}, {16, 32}, {36, 37}, {10, 10}} {
		r := testRange(t, log, c[0], c[1], true)
		got, err := UnmarshalRange(r.Marshal())
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		have := compactRange(t, log, 0, int(got.Start)) // what the receiver already holds
		for _, e := range got.Entries {
			if err := have.Append(rfc6962.DefaultHasher.HashLeaf(e), nil); err != nil {
				t.Fatal(err)
			}
		}
		hashes := make([][]byte, len(got.Proof))
		for i := range got.Proof {
			hashes[i] = got.Proof[i][:]
		}
		right, err := rangeFactory.NewRange(got.End(), got.Head.Length, hashes)
		if err != nil {
			t.Fatalf("%v: proof: %v", c, err)
		}
		if err := have.AppendRange(right, nil); err != nil {
			t.Fatal(err)
		}
		root, err := have.GetRootHash(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, got.Head.Root[:]) {
			t.Fatalf("%v: root mismatch", c)
		}
		if err := got.Head.Verify(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRangeRoundTrip(t *testing.T) {
	log := testLog(t, 40)
	big := make([][]byte, MaxRangeEntries)
	for i := range big {
		big[i] = log[i%len(log)]
	}
	tests := []struct {
		name string
		r    Range
	}{
		{"whole log", testRange(t, log, 0, 40, false)},
		{"middle with proof", testRange(t, log, 3, 17, true)},
		{"middle without proof", testRange(t, log, 3, 17, false)},
		{"no entries", testRange(t, log, 40, 40, false)},
		{"no entries with proof", testRange(t, log, 20, 20, true)},
		{"max entries", Range{Head: SignedHead{Head: Head{Length: MaxRangeEntries}}, Entries: big}},
		{"max entry size", Range{Head: SignedHead{Head: Head{Length: 9}}, Start: 8, Entries: [][]byte{bytes.Repeat([]byte{1}, MaxEntrySize)}}},
		{"huge start", Range{Head: SignedHead{Head: Head{Length: 1<<64 - 1}}, Start: 1<<64 - 2, Entries: log[:1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.r.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			enc := tt.r.Marshal()
			if len(enc) != tt.r.EncodedSize() {
				t.Fatalf("EncodedSize %d, encoded %d", tt.r.EncodedSize(), len(enc))
			}
			got, err := UnmarshalRange(enc)
			if err != nil {
				t.Fatalf("UnmarshalRange: %v", err)
			}
			if got.Head != tt.r.Head || got.Start != tt.r.Start || len(got.Entries) != len(tt.r.Entries) {
				t.Fatalf("round trip: head/start/count differ")
			}
			for i := range got.Entries {
				if !bytes.Equal(got.Entries[i], tt.r.Entries[i]) {
					t.Fatalf("entry %d differs", i)
				}
			}
			if len(got.Proof) != len(tt.r.Proof) || (len(got.Proof) > 0 && !reflect.DeepEqual(got.Proof, tt.r.Proof)) {
				t.Fatalf("proof differs")
			}
			if !bytes.Equal(got.Marshal(), enc) {
				t.Fatal("re-encoding differs")
			}
			// Decoded entries must not alias the input nor each other's capacity.
			if len(got.Entries) > 1 {
				e0 := got.Entries[0]
				if cap(e0) != len(e0) {
					t.Fatalf("entry capacity %d leaks into the next entry", cap(e0))
				}
				enc[RangeFixedSize-1+RangeEntryOverhead] ^= 0xff
				if !bytes.Equal(got.Entries[0], tt.r.Entries[0]) {
					t.Fatal("decoded entries alias the input")
				}
			}
		})
	}
}

func TestRangeRejects(t *testing.T) {
	log := testLog(t, 40)
	good := testRange(t, log, 3, 17, true)
	enc := good.Marshal()
	countOff := SignedHeadSize + 8
	put32 := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.BigEndian.PutUint32(b[off:], v)
		return b
	}
	rawRange := func(entries [][]byte, start, length uint64, proof int) []byte {
		r := Range{Head: SignedHead{Head: Head{Length: length}}, Start: start, Entries: entries, Proof: make([]Hash, proof)}
		return r.Marshal()
	}
	tooMany := make([][]byte, MaxRangeEntries+1)
	for i := range tooMany {
		tooMany[i] = []byte{1}
	}
	tests := []struct {
		name   string
		in     []byte
		reason string
	}{
		{"empty", nil, "truncated head"},
		{"short head", enc[:SignedHeadSize-1], "truncated head"},
		{"no count", enc[:countOff], "truncated entry count"},
		{"oversize", make([]byte, MaxRangeBytes+1), "size"},
		{"count over limit", put32(enc, countOff, MaxRangeEntries+1), "at most 4096"},
		{"count 2^32-1", put32(enc, countOff, 1<<32-1), "at most 4096"},
		{"count over bytes", put32(enc[:countOff+4+8], countOff, 4000), "only 8 bytes left"},
		{"too many entries", rawRange(tooMany, 0, 1<<20, 0), "at most 4096"},
		{"entry length zero", rawRange([][]byte{{}}, 0, 1, 0), "entry 0 has 0 bytes"},
		{"entry too long", rawRange([][]byte{make([]byte, MaxEntrySize+1)}, 0, 1, 0), "1025 bytes"},
		{"entry length 2^32-1", put32(enc, countOff+4, 1<<32-1), "4294967295 bytes"},
		{"truncated entry", rawRange(log[:1], 0, 1, 0)[:countOff+4+4+3], "truncated entry"},
		{"missing proof count", enc[:len(enc)-len(good.Proof)*HashSize-1], "truncated proof count"},
		{"truncated proof", enc[:len(enc)-1], "truncated proof"},
		{"trailing byte", append(bytes.Clone(enc), 0), "trailing"},
		{"beyond head", rawRange(log[:3], 5, 7, 0), "beyond head length 7"},
		{"overflow", rawRange(log[:3], 1<<64-2, 1<<64-1, 0), "overflows"},
		{"wrong proof size", rawRange(log[:3], 0, 40, 2), "want 0 or"},
		{"proof at end", rawRange(log[:3], 0, 3, 1), "want 0 or 0"},
		{"proof count over limit", append(rawRange(nil, 0, 0, 0)[:RangeFixedSize-1], MaxProofHashes+1), "at most 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalRange(tt.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("UnmarshalRange = %v, want *DecodeError", err)
			}
			if !strings.Contains(de.Error(), tt.reason) {
				t.Fatalf("error %q does not mention %q", de.Error(), tt.reason)
			}
		})
	}
	// Validate rejects what the decoder rejects, before encoding.
	big := Range{Head: SignedHead{Head: Head{Length: MaxRangeEntries}}, Entries: make([][]byte, MaxRangeEntries)}
	for i := range big.Entries {
		big.Entries[i] = make([]byte, MaxEntrySize)
	}
	if err := big.Validate(); err == nil || !strings.Contains(err.Error(), "encoded size") {
		t.Fatalf("Validate of an oversize range = %v", err)
	}
	if _, err := UnmarshalRange(big.Marshal()); err == nil {
		t.Fatal("UnmarshalRange accepts an oversize range")
	}
}

func testHeads(n int) []SignedHead {
	out := make([]SignedHead, n)
	for i := range out {
		priv, key := testKey(byte(i))
		out[i] = SignHead(priv, Head{Key: key, Length: uint64(i), Root: Hash{byte(i)}, Fork: 0})
	}
	return out
}

func TestHeadsRoundTrip(t *testing.T) {
	hs := testHeads(5)
	// Two inconsistent heads of one key are kept; an exact duplicate is dropped.
	priv, key := testKey(0)
	fork := SignHead(priv, Head{Key: key, Length: 9})
	in := Heads{Heads: []SignedHead{hs[3], hs[1], fork, hs[4], hs[0], hs[2], hs[1]}}
	orig := slicesClone(in.Heads)
	enc := in.Marshal()
	if !reflect.DeepEqual(in.Heads, orig) {
		t.Fatal("Marshal changed its input")
	}
	if len(enc) != 4+6*SignedHeadSize {
		t.Fatalf("size %d, want 6 distinct heads", len(enc))
	}
	got, err := UnmarshalHeads(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Heads) != 6 {
		t.Fatalf("got %d heads", len(got.Heads))
	}
	for i := 1; i < len(got.Heads); i++ {
		if bytes.Compare(got.Heads[i-1].Marshal(), got.Heads[i].Marshal()) >= 0 {
			t.Fatal("heads not sorted")
		}
	}
	for _, h := range got.Heads {
		if err := h.Verify(); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Marshal(), enc) {
		t.Fatal("re-encoding differs")
	}
	// Empty set.
	empty := Heads{}.Marshal()
	if !bytes.Equal(empty, []byte{0, 0, 0, 0}) {
		t.Fatalf("empty = %x", empty)
	}
	if got, err := UnmarshalHeads(empty); err != nil || len(got.Heads) != 0 {
		t.Fatalf("UnmarshalHeads(empty) = %v, %v", got, err)
	}
	if err := (Heads{Heads: make([]SignedHead, MaxHeads+1)}).Validate(); err == nil {
		t.Fatal("Validate accepts too many heads")
	}
}

func slicesClone(s []SignedHead) []SignedHead { return append([]SignedHead(nil), s...) }

func TestHeadsRejects(t *testing.T) {
	hs := testHeads(3)
	enc := Heads{Heads: hs}.Marshal()
	sorted, _ := UnmarshalHeads(enc)
	raw := func(heads ...SignedHead) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(heads)))
		for _, h := range heads {
			b = append(b, h.Marshal()...)
		}
		return b
	}
	s := sorted.Heads
	tests := []struct {
		name   string
		in     []byte
		reason string
	}{
		{"empty", nil, "truncated count"},
		{"short count", []byte{0, 0, 0}, "truncated count"},
		{"count over limit", binary.BigEndian.AppendUint32(nil, MaxHeads+1), "at most 4096"},
		{"count 2^32-1", binary.BigEndian.AppendUint32(nil, 1<<32-1), "at most 4096"},
		{"short", enc[:len(enc)-1], "size"},
		{"trailing", append(bytes.Clone(enc), 0), "size"},
		{"unsorted", raw(s[1], s[0], s[2]), "not after"},
		{"duplicate", raw(s[0], s[0]), "not after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalHeads(tt.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("UnmarshalHeads = %v, want *DecodeError", err)
			}
			if !strings.Contains(de.Error(), tt.reason) {
				t.Fatalf("error %q does not mention %q", de.Error(), tt.reason)
			}
		})
	}
}

func TestFetchRequest(t *testing.T) {
	_, key := testKey(1)
	for _, f := range []FetchRequest{
		{Key: key, Start: 0, End: 1},
		{Key: key, Start: 10, End: 10 + MaxRangeEntries},
		{Key: key, Start: 1<<64 - 2, End: 1<<64 - 1},
	} {
		enc := f.Marshal()
		if len(enc) != FetchRequestSize {
			t.Fatalf("size %d", len(enc))
		}
		got, err := UnmarshalFetchRequest(enc)
		if err != nil || got != f {
			t.Fatalf("round trip %+v: %+v, %v", f, got, err)
		}
	}
	tests := []struct {
		name   string
		in     []byte
		reason string
	}{
		{"empty", nil, "size 0"},
		{"short", FetchRequest{Key: key, End: 1}.Marshal()[:FetchRequestSize-1], "size"},
		{"long", append(FetchRequest{Key: key, End: 1}.Marshal(), 0), "size"},
		{"start == end", FetchRequest{Key: key, Start: 5, End: 5}.Marshal(), "empty range"},
		{"start > end", FetchRequest{Key: key, Start: 6, End: 5}.Marshal(), "empty range"},
		{"too many", FetchRequest{Key: key, Start: 0, End: MaxRangeEntries + 1}.Marshal(), "at most 4096"},
		{"whole space", FetchRequest{Key: key, Start: 0, End: 1<<64 - 1}.Marshal(), "at most 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalFetchRequest(tt.in)
			var de *DecodeError
			if !errors.As(err, &de) || !strings.Contains(de.Error(), tt.reason) {
				t.Fatalf("UnmarshalFetchRequest = %v, want *DecodeError mentioning %q", err, tt.reason)
			}
		})
	}
}

func TestSignedHeadRoundTripAndRejects(t *testing.T) {
	priv, key := testKey(3)
	h := SignHead(priv, Head{Key: key, Length: 12, Root: Hash{1, 2, 3}, Fork: 1})
	enc := h.Marshal()
	got, err := UnmarshalSignedHead(enc)
	if err != nil || got != h {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{nil, enc[:len(enc)-1], append(bytes.Clone(enc), 0)} {
		var de *DecodeError
		if _, err := UnmarshalSignedHead(in); !errors.As(err, &de) {
			t.Fatalf("UnmarshalSignedHead(%d bytes) = %v", len(in), err)
		}
	}
	// Flipping any bit makes the head fail to verify.
	for i := range enc {
		b := bytes.Clone(enc)
		b[i] ^= 0x01
		s, err := UnmarshalSignedHead(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("byte %d flipped: Verify = %v", i, err)
		}
	}
}

// FuzzUnmarshalSignedHead checks that decoding never panics and re-encodes identically.
func FuzzUnmarshalSignedHead(f *testing.F) {
	for _, h := range testHeads(2) {
		f.Add(h.Marshal())
	}
	f.Add([]byte{})
	f.Add(make([]byte, SignedHeadSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := UnmarshalSignedHead(b)
		if err != nil {
			return
		}
		if !bytes.Equal(s.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
		_ = s.Verify()
	})
}

// FuzzUnmarshalRange checks that decoding never panics, that accepted ranges validate, and that
// they re-encode identically.
func FuzzUnmarshalRange(f *testing.F) {
	log := testLog(f, 12)
	f.Add(testRange(f, log, 0, 12, false).Marshal())
	f.Add(testRange(f, log, 2, 7, true).Marshal())
	f.Add(testRange(f, log, 12, 12, false).Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalRange(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not *DecodeError", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded range does not validate: %v", err)
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

// FuzzUnmarshalHeads checks that decoding never panics and re-encodes identically.
func FuzzUnmarshalHeads(f *testing.F) {
	f.Add(Heads{Heads: testHeads(3)}.Marshal())
	f.Add(Heads{}.Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := UnmarshalHeads(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not *DecodeError", err)
			}
			return
		}
		if err := h.Validate(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func TestHeadsDigest(t *testing.T) {
	hs := testHeads(3)
	d := DigestHeads(hs)
	for _, tc := range []struct {
		name string
		hs   []SignedHead
		same bool
	}{
		{"same set", testHeads(3), true},
		{"other order", []SignedHead{hs[2], hs[0], hs[1]}, true},
		{"repeated head", []SignedHead{hs[0], hs[1], hs[2], hs[1]}, true},
		{"one head fewer", hs[:2], false},
		{"empty", nil, false},
		{"one head longer", func() []SignedHead {
			o := slices.Clone(hs)
			o[1].Length++
			return o
		}(), false},
		{"one signature differs", func() []SignedHead {
			o := slices.Clone(hs)
			o[0].Sig[0] ^= 1
			return o
		}(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DigestHeads(tc.hs)
			if (got == d) != tc.same {
				t.Fatalf("digest equal = %v, want %v", got == d, tc.same)
			}
			if enc := (Heads{Heads: tc.hs}).Marshal(); DigestHeadsEncoding(enc) != got {
				t.Fatal("DigestHeadsEncoding of the canonical encoding differs from DigestHeads")
			}
			if want := uint32(len(Heads{Heads: tc.hs}.Marshal())-4) / SignedHeadSize; got.Count != want {
				t.Fatalf("count %d, want %d", got.Count, want)
			}
		})
	}
	b := d.Marshal()
	if len(b) != HeadsDigestSize {
		t.Fatalf("encoding is %d bytes, want %d", len(b), HeadsDigestSize)
	}
	back, err := UnmarshalHeadsDigest(b)
	if err != nil || back != d {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for _, n := range []int{0, HeadsDigestSize - 1, HeadsDigestSize + 1} {
		var de *DecodeError
		if _, err := UnmarshalHeadsDigest(make([]byte, n)); !errors.As(err, &de) {
			t.Fatalf("%d bytes: error %v, want *DecodeError", n, err)
		}
	}
}

// FuzzUnmarshalHeadsDigest checks that decoding never panics and re-encodes identically.
func FuzzUnmarshalHeadsDigest(f *testing.F) {
	f.Add(DigestHeads(testHeads(3)).Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := UnmarshalHeadsDigest(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not *DecodeError", err)
			}
			return
		}
		if !bytes.Equal(d.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

// FuzzUnmarshalFetchRequest checks that decoding never panics and re-encodes identically.
func FuzzUnmarshalFetchRequest(f *testing.F) {
	f.Add(FetchRequest{Key: PeerKey{1}, Start: 0, End: 10}.Marshal())
	f.Add(FetchRequest{Start: 1<<64 - 2, End: 1<<64 - 1}.Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalFetchRequest(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not *DecodeError", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatal("re-encoding differs")
		}
	})
}

func TestBidReceiptRoundTrip(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	h := SignHead(priv, Head{Key: KeyOf(priv), Length: 10, Fork: 0})
	for _, tc := range []struct {
		name    string
		index   uint64
		wantErr bool
	}{{"first", 0, false}, {"last", 9, false}, {"outside", 10, true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := BidReceipt{Head: h, Index: tc.index}.Marshal()
			got, err := UnmarshalBidReceipt(b)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && (got.Head != h || got.Index != tc.index) {
				t.Fatalf("round trip changed the receipt: %+v", got)
			}
		})
	}
	if _, err := UnmarshalBidReceipt(make([]byte, BidReceiptSize+1)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func FuzzUnmarshalBidReceipt(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	f.Add(BidReceipt{Head: SignHead(priv, Head{Key: KeyOf(priv), Length: 3}), Index: 2}.Marshal())
	f.Add(make([]byte, BidReceiptSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := UnmarshalBidReceipt(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Marshal(), b) {
			t.Fatalf("re-encoding differs")
		}
	})
}
