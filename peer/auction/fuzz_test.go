package auction

import (
	"reflect"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// fuzzMaxSteps bounds the entries one fuzz input applies.
const fuzzMaxSteps = 200

// fuzzReader hands out the fuzz input's bytes, then zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) more() bool { return len(r.b) > 0 }

func (r *fuzzReader) u8() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) u16() uint16 { return uint16(r.u8())<<8 | uint16(r.u8()) }

func (r *fuzzReader) bytes(n int) []byte {
	n = min(n, len(r.b))
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// FuzzBookApply feeds a book entries built from the input: raw bytes decoded with
// wire.UnmarshalEntry, and structured opens, bids (signed by real keys, some tampered), closes and
// profiles, in and out of order. The book must never panic, a rejected entry must change nothing,
// and the invariants of checkInvariants must hold after every step.
func FuzzBookApply(f *testing.F) {
	// More seeds, decoded step by step, are in testdata/fuzz/FuzzBookApply.
	f.Add([]byte{})
	f.Add([]byte{0x08, 0xea, 0x60, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x01})
	peers := []*tpeer{newPeer(1), newPeer(2), newPeer(3), newPeer(4)}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewBook()
		r := &fuzzReader{b: data}
		now := t0
		for step := 0; step < fuzzMaxSteps && r.more(); step++ {
			op := r.u8()
			w := peers[op&3]
			index := b.Applied(w.key)
			var e wire.Entry
			switch (op >> 2) & 7 {
			case 0: // raw bytes, decoded
				raw := r.bytes(int(r.u16() % (wire.MaxEntrySize + 1)))
				var err error
				if e, err = wire.UnmarshalEntry(raw); err != nil {
					continue
				}
			case 1:
				e = wire.Entry{Time: now, Event: &wire.Profile{Name: string(r.bytes(int(r.u8() % (wire.MaxNameLen + 8))))}}
			case 2:
				o := &wire.Open{Item: "item", Price: wire.Amount(r.u16()) * 1000, Currency: wire.Currency}
				if d := int64(r.u16()); d%2 == 1 {
					o.EndsAt = now + d*100 - 50_000
				}
				e = wire.Entry{Time: now, Event: o}
			case 3, 4:
				all := b.Auctions()
				var id wire.AuctionID
				var minBid wire.Amount = 1
				sel := r.u8()
				if len(all) > 0 {
					a := all[int(sel)%len(all)]
					id, minBid = a.ID, a.MinNextBid()
				}
				bidder := peers[r.u8()&3]
				amount := minBid + wire.Amount(int8(r.u8()))*100_000
				bt := now + int64(int8(r.u8()))*2_000
				sb := bidder.bid(id, amount, bt)
				switch t := r.u8(); t % 8 {
				case 1:
					sb.Bidder = peers[t>>3&3].key
				case 2:
					sb.Amount++
				case 3:
					sb.Sig[t>>3%wire.SignatureSize] ^= 1
				}
				e = wire.Entry{Time: now, Event: &wire.BidAccepted{Bid: sb}}
			case 5:
				all := b.Auctions()
				var id wire.AuctionID
				var winner *wire.SignedBid
				sel, swap, pick := r.u8(), r.u8(), r.u8()
				if len(all) > 0 {
					a := all[int(sel)%len(all)]
					id = a.ID
					winner, _ = b.CheckClose(a.Seller, a.ID)
					if n := len(a.Bids); n > 0 && swap%4 == 0 {
						s := a.Bids[int(pick)%n].Signed
						winner = &s
					}
				}
				e = wire.Entry{Time: now, Event: &wire.Close{Auction: id, Winner: winner}}
			case 6: // wrong index: must be refused without consuming
				e = wire.Entry{Time: now, Event: &wire.Profile{Name: "x"}}
				index += 1 + uint64(r.u8())
			case 7:
				now += int64(r.u16()) * 100
				continue
			}
			// Structured entries go through the wire format when they are valid, as a peer
			// receives them; invalid ones are applied as built, as the engine could.
			if raw, err := e.Marshal(); err == nil {
				d, err := wire.UnmarshalEntry(raw)
				if err != nil {
					t.Fatalf("entry does not round-trip: %v", err)
				}
				e = d
			}
			before := b.Auctions()
			beforeNames := map[wire.PeerKey]string{}
			for _, p := range peers {
				beforeNames[p.key] = b.Name(p.key)
			}
			beforeApplied := b.Applied(w.key)
			ch, err := b.Apply(w.key, index, e)
			switch {
			case err != nil:
				if ch.Kind != 0 {
					t.Fatalf("rejected entry reported change %v", ch.Kind)
				}
				if !reflect.DeepEqual(b.Auctions(), before) {
					t.Fatalf("rejected entry (%v) changed the auctions", err)
				}
				for _, p := range peers {
					if b.Name(p.key) != beforeNames[p.key] {
						t.Fatalf("rejected entry (%v) changed a name", err)
					}
				}
				wantApplied := beforeApplied + 1
				if index != beforeApplied {
					wantApplied = beforeApplied
				}
				if b.Applied(w.key) != wantApplied {
					t.Fatalf("Applied = %d after %v, want %d", b.Applied(w.key), err, wantApplied)
				}
			case ch.Kind < ChangeProfile || ch.Kind > ChangeClosed:
				t.Fatalf("accepted entry reported kind %v", ch.Kind)
			}
			checkInvariants(t, b, false)
			b.Due(time.UnixMilli(now), w.key)
			b.NextDeadline(w.key)
		}
		checkInvariants(t, b, true)
	})
}
