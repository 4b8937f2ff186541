package wire

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWriteFuzzSeeds writes the committed seed corpora under testdata/fuzz/ when the environment
// variable WIRE_WRITE_SEEDS is 1:
//
//	WIRE_WRITE_SEEDS=1 go test ./wire -run TestWriteFuzzSeeds
//
// Otherwise it is skipped. Seeds found by fuzzing (crashers) are kept beside these files.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("WIRE_WRITE_SEEDS") != "1" {
		t.Skip("set WIRE_WRITE_SEEDS=1 to rewrite the seed corpora")
	}
	writeBytes := func(target, name string, b []byte) {
		writeSeed(t, target, name, "[]byte("+strconv.Quote(string(b))+")")
	}

	for _, s := range []string{"75.5", "80", "0.000001", "1000000000", "999999999.999999", "75.50",
		"1000000000.000001", "0", "0.0000001", "1e3", "NaN", "Inf", "-1", "+1", ".5", "1.", "01",
		"0x10", "1_000", "1,000", " 1", "1 ", strings.Repeat("9", MaxAmountTextLen+1), "１"} {
		writeSeed(t, "FuzzParseAmount", "text-"+seedName(s), "string("+strconv.Quote(s)+")")
	}

	for _, tt := range testEntries() {
		enc := mustMarshal(t, tt.e)
		writeBytes("FuzzUnmarshalEntry", "valid-"+seedName(tt.name), enc)
		writeBytes("FuzzUnmarshalEntry", "trailing-"+seedName(tt.name), append(enc, 0))
		writeBytes("FuzzUnmarshalEntry", "truncated-"+seedName(tt.name), enc[:len(enc)-1])
	}
	closeNone := mustMarshal(t, Entry{Time: testTime, Event: &Close{Auction: AuctionID{1}}})
	closeNone[len(closeNone)-1] = 2
	writeBytes("FuzzUnmarshalEntry", "winner-flag-2", closeNone)
	writeBytes("FuzzUnmarshalEntry", "empty", nil)
	writeBytes("FuzzUnmarshalEntry", "oversize", make([]byte, MaxEntrySize+1))

	id := DeriveAuctionID(PeerKey{1}, 0)
	for i, a := range []Amount{1, 80_000_000, MaxAmount} {
		writeBytes("FuzzUnmarshalSignedBid", fmt.Sprintf("valid-%d", i), testSignedBid(byte(i+1), id, a).Marshal())
	}
	zero := testSignedBid(1, id, 1)
	zero.Amount = 0
	writeBytes("FuzzUnmarshalSignedBid", "zero-amount", zero.Marshal())
	writeBytes("FuzzUnmarshalSignedBid", "empty", nil)
	writeBytes("FuzzUnmarshalSignedBid", "short", make([]byte, SignedBidSize-1))

	for i, h := range testHeads(2) {
		writeBytes("FuzzUnmarshalSignedHead", fmt.Sprintf("valid-%d", i), h.Marshal())
	}
	writeBytes("FuzzUnmarshalSignedHead", "zero", make([]byte, SignedHeadSize))
	writeBytes("FuzzUnmarshalSignedHead", "short", make([]byte, SignedHeadSize-1))

	log := testLog(t, 12)
	writeBytes("FuzzUnmarshalRange", "whole", testRange(t, log, 0, 12, false).Marshal())
	writeBytes("FuzzUnmarshalRange", "partial-proof", testRange(t, log, 2, 7, true).Marshal())
	writeBytes("FuzzUnmarshalRange", "partial-no-proof", testRange(t, log, 2, 7, false).Marshal())
	writeBytes("FuzzUnmarshalRange", "no-entries", testRange(t, log, 12, 12, false).Marshal())
	writeBytes("FuzzUnmarshalRange", "beyond-head", Range{Head: SignedHead{Head: Head{Length: 1}}, Entries: log[:2]}.Marshal())
	writeBytes("FuzzUnmarshalRange", "empty", nil)

	writeBytes("FuzzUnmarshalHeads", "three", Heads{Heads: testHeads(3)}.Marshal())
	writeBytes("FuzzUnmarshalHeads", "none", Heads{}.Marshal())
	hs := testHeads(2)
	writeBytes("FuzzUnmarshalHeads", "duplicate", append([]byte{0, 0, 0, 2}, append(hs[0].Marshal(), hs[0].Marshal()...)...))
	writeBytes("FuzzUnmarshalHeads", "empty", nil)

	writeBytes("FuzzUnmarshalHeadsDigest", "three", DigestHeads(testHeads(3)).Marshal())
	writeBytes("FuzzUnmarshalHeadsDigest", "none", DigestHeads(nil).Marshal())
	writeBytes("FuzzUnmarshalHeadsDigest", "short", make([]byte, HeadsDigestSize-1))
	writeBytes("FuzzUnmarshalHeadsDigest", "empty", nil)

	writeBytes("FuzzUnmarshalFetchRequest", "valid", FetchRequest{Key: PeerKey{1}, Start: 0, End: 10}.Marshal())
	writeBytes("FuzzUnmarshalFetchRequest", "max", FetchRequest{Key: PeerKey{2}, Start: 5, End: 5 + MaxRangeEntries}.Marshal())
	writeBytes("FuzzUnmarshalFetchRequest", "top", FetchRequest{Start: 1<<64 - 2, End: 1<<64 - 1}.Marshal())
	writeBytes("FuzzUnmarshalFetchRequest", "empty-range", FetchRequest{Start: 3, End: 3}.Marshal())
	writeBytes("FuzzUnmarshalFetchRequest", "empty", nil)
}

// seedName turns s into a file-name-safe fragment.
func seedName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	if b.Len() == 0 {
		return "empty"
	}
	return b.String()
}

// writeSeed writes one value in the "go test fuzz v1" corpus format.
func writeSeed(t *testing.T, target, name, value string) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := "go test fuzz v1\n" + value + "\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
