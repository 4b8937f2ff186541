package wire

import "testing"

// benchEntries returns a typical open entry and a bid-accepted entry.
func benchEntries() map[string]Entry {
	id := DeriveAuctionID(PeerKey{1}, 1)
	return map[string]Entry{
		"open": {Time: testTime, Event: &Open{Item: "Pic#1 — oil on canvas", Price: 75_000_000, Currency: Currency, EndsAt: testTime + 300_000}},
		"bid":  {Time: testTime, Event: &BidAccepted{Bid: testSignedBid(2, id, 80_000_000)}},
	}
}

func BenchmarkEntryMarshal(b *testing.B) {
	for name, e := range benchEntries() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEntryUnmarshal(b *testing.B) {
	for name, e := range benchEntries() {
		enc := mustMarshal(b, e)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, err := UnmarshalEntry(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBidVerify(b *testing.B) {
	s := testSignedBid(3, AuctionID{1}, 80_000_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBidSign(b *testing.B) {
	priv, key := testKey(3)
	bid := Bid{Auction: AuctionID{1}, Amount: 80_000_000, Bidder: key, Time: testTime}
	b.ReportAllocs()
	for b.Loop() {
		SignBid(priv, bid)
	}
}

func BenchmarkParseAmount(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAmount("123456.789012"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRangeUnmarshal(b *testing.B) {
	log := testLog(b, 1024)
	enc := testRange(b, log, 0, 1024, false).Marshal()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalRange(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeadVerify is the check every receiver makes once per pushed range (and once per
// distinct head it is told of).
func BenchmarkHeadVerify(b *testing.B) {
	priv, key := testKey(4)
	h := SignHead(priv, Head{Key: key, Length: 1000, Root: Hash{7}})
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}
