package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const testTime = 1_700_000_000_000 // Unix milliseconds

// testEntries returns one valid entry of every kind and shape, named.
func testEntries() []struct {
	name string
	e    Entry
} {
	id := DeriveAuctionID(PeerKey{1}, 1)
	win := testSignedBid(2, id, 90_000_000)
	return []struct {
		name string
		e    Entry
	}{
		{"profile", Entry{Time: testTime, Event: &Profile{Name: "alice"}}},
		{"profile unicode", Entry{Time: 0, Event: &Profile{Name: "Zoë 🦊 Müller"}}},
		{"profile max", Entry{Time: testTime, Event: &Profile{Name: strings.Repeat("n", MaxNameLen)}}},
		{"open", Entry{Time: testTime, Event: &Open{Item: "Pic#1", Price: 75_000_000, Currency: Currency}}},
		{"open deadline", Entry{Time: testTime, Event: &Open{Item: "Pic #2, framed", Price: 1, Currency: Currency, EndsAt: testTime + 90_000}}},
		{"open max", Entry{Time: testTime, Event: &Open{Item: strings.Repeat("é", MaxItemLen/2), Price: MaxAmount, Currency: Currency, EndsAt: 1<<63 - 1}}},
		{"bid", Entry{Time: testTime, Event: &BidAccepted{Bid: testSignedBid(3, id, 80_000_000)}}},
		{"close no winner", Entry{Time: testTime, Event: &Close{Auction: id}}},
		{"close winner", Entry{Time: testTime, Event: &Close{Auction: id, Winner: &win}}},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for _, tt := range testEntries() {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tt.e.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if len(enc) > MaxEntrySize {
				t.Fatalf("encoded size %d above MaxEntrySize", len(enc))
			}
			if len(enc) != tt.e.size() {
				t.Fatalf("size() = %d, encoded %d", tt.e.size(), len(enc))
			}
			got, err := UnmarshalEntry(enc)
			if err != nil {
				t.Fatalf("UnmarshalEntry: %v", err)
			}
			if !reflect.DeepEqual(got, tt.e) {
				t.Fatalf("round trip:\n got  %#v\n want %#v", got, tt.e)
			}
			again, err := got.Marshal()
			if err != nil || !bytes.Equal(again, enc) {
				t.Fatalf("re-encoding differs: %x vs %x (%v)", again, enc, err)
			}
		})
	}
}

func TestEntryEncodingLayout(t *testing.T) {
	enc, err := Entry{Time: 0x0102030405060708, Event: &Profile{Name: "ab"}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{EntryVersion, byte(EventProfile), 1, 2, 3, 4, 5, 6, 7, 8, 0, 2, 'a', 'b'}
	if !bytes.Equal(enc, want) {
		t.Fatalf("Marshal = %x, want %x", enc, want)
	}
}

func TestEntryMarshalRejects(t *testing.T) {
	id := DeriveAuctionID(PeerKey{1}, 1)
	other := testSignedBid(2, DeriveAuctionID(PeerKey{1}, 2), 5)
	badBid := testSignedBid(2, id, 5)
	badBid.Amount = 0
	open := func(item string, price Amount, cur string, ends int64) Entry {
		return Entry{Time: testTime, Event: &Open{Item: item, Price: price, Currency: cur, EndsAt: ends}}
	}
	name := func(s string) Entry { return Entry{Time: testTime, Event: &Profile{Name: s}} }
	tests := []struct {
		name   string
		e      Entry
		reason string
	}{
		{"no event", Entry{Time: testTime}, "no event"},
		{"nil profile", Entry{Event: (*Profile)(nil)}, "nil profile"},
		{"nil open", Entry{Event: (*Open)(nil)}, "nil open"},
		{"nil bid", Entry{Event: (*BidAccepted)(nil)}, "nil bid"},
		{"nil close", Entry{Event: (*Close)(nil)}, "nil close"},
		{"negative time", Entry{Time: -1, Event: &Profile{Name: "a"}}, "negative time"},
		{"empty name", name(""), "empty"},
		{"long name", name(strings.Repeat("a", MaxNameLen+1)), "at most 64"},
		{"invalid utf8 name", name("a\xffb"), "UTF-8"},
		{"newline in name", name("a\nb"), "control"},
		{"nul in name", name("a\x00b"), "control"},
		{"escape in name", name("a\x1b[31mb"), "control"},
		{"del in name", name("a\x7fb"), "control"},
		{"c1 control in name", name("a\u0085b"), "control"},
		{"line separator", name("a\u2028b"), "line separator"},
		{"bidi override", name("a\u202eb"), "bidirectional"},
		{"bidi isolate", name("a\u2066b"), "bidirectional"},
		{"leading space", name(" a"), "white space"},
		{"trailing space", name("a "), "white space"},
		{"only space", name(" "), "white space"},
		{"trailing nbsp", name("a\u00a0"), "white space"},
		{"empty item", open("", 1, Currency, 0), "empty"},
		{"long item", open(strings.Repeat("a", MaxItemLen+1), 1, Currency, 0), "at most 128"},
		{"item tab", open("a\tb", 1, Currency, 0), "control"},
		{"zero price", open("x", 0, Currency, 0), "zero"},
		{"price above max", open("x", MaxAmount+1, Currency, 0), "maximum"},
		{"currency empty", open("x", 1, "", 0), "currency"},
		{"currency usd", open("x", 1, "USD", 0), "currency"},
		{"currency case", open("x", 1, "usdt", 0), "currency"},
		{"negative ends", open("x", 1, Currency, -1), "negative end"},
		{"ends before time", open("x", 1, Currency, testTime-1), "not after"},
		{"ends at time", open("x", 1, Currency, testTime), "not after"},
		{"bid zero amount", Entry{Time: testTime, Event: &BidAccepted{Bid: badBid}}, "zero"},
		{"winner other auction", Entry{Time: testTime, Event: &Close{Auction: id, Winner: &other}}, "winning bid is for auction"},
		{"winner zero amount", Entry{Time: testTime, Event: &Close{Auction: id, Winner: &badBid}}, "zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.e.Marshal()
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Marshal = %v, want *DecodeError", err)
			}
			if !strings.Contains(de.Error(), tt.reason) {
				t.Fatalf("error %q does not mention %q", de.Error(), tt.reason)
			}
			if err := tt.e.Validate(); err == nil {
				t.Fatal("Validate accepts what Marshal rejects")
			}
		})
	}
}

func TestValidateAmountErrorsWrap(t *testing.T) {
	err := Entry{Event: &Open{Item: "x", Currency: Currency}}.Validate()
	if !errors.Is(err, ErrBadAmount) {
		t.Fatalf("zero price error %v does not wrap ErrBadAmount", err)
	}
	bad := testSignedBid(1, AuctionID{}, 1)
	bad.Amount = MaxAmount + 1
	err = Entry{Event: &BidAccepted{Bid: bad}}.Validate()
	if !errors.Is(err, ErrBadAmount) {
		t.Fatalf("bad bid amount error %v does not wrap ErrBadAmount", err)
	}
}

// mustMarshal encodes e, failing the test on error.
func mustMarshal(t testing.TB, e Entry) []byte {
	t.Helper()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnmarshalEntryRejects(t *testing.T) {
	id := DeriveAuctionID(PeerKey{1}, 1)
	win := testSignedBid(2, id, 90_000_000)
	profile := mustMarshal(t, Entry{Time: testTime, Event: &Profile{Name: "alice"}})
	open := mustMarshal(t, Entry{Time: testTime, Event: &Open{Item: "Pic#1", Price: 75_000_000, Currency: Currency}})
	closeNone := mustMarshal(t, Entry{Time: testTime, Event: &Close{Auction: id}})
	closeWin := mustMarshal(t, Entry{Time: testTime, Event: &Close{Auction: id, Winner: &win}})
	bid := mustMarshal(t, Entry{Time: testTime, Event: &BidAccepted{Bid: win}})
	with := func(b []byte, f func(b []byte) []byte) []byte { return f(bytes.Clone(b)) }
	set := func(b []byte, i int, v byte) []byte { return with(b, func(b []byte) []byte { b[i] = v; return b }) }
	const body = 10 // offset of the body: version, type, time
	// Strings: rebuild a profile with raw name bytes and an arbitrary declared length.
	rawProfile := func(declared uint16, name string) []byte {
		b := bytes.Clone(profile[:body])
		b = binary.BigEndian.AppendUint16(b, declared)
		return append(b, name...)
	}
	// Open with a raw currency string.
	rawOpen := func(cur string) []byte {
		b := bytes.Clone(open[:body])
		b = appendStr(b, "Pic#1")
		b = binary.BigEndian.AppendUint64(b, 75_000_000)
		b = appendStr(b, cur)
		return binary.BigEndian.AppendUint64(b, 0)
	}
	tests := []struct {
		name   string
		in     []byte
		reason string
	}{
		{"empty", nil, "truncated version"},
		{"only version", []byte{EntryVersion}, "truncated type"},
		{"short time", []byte{EntryVersion, 1, 0, 0}, "truncated time"},
		{"too big", make([]byte, MaxEntrySize+1), "size"},
		{"huge", make([]byte, 1<<20), "size"},
		{"version 0", set(profile, 0, 0), "version 0"},
		{"version 2", set(profile, 0, 2), "version 2"},
		{"type 0", set(profile, 1, 0), "unknown event type 0"},
		{"type 5", set(profile, 1, 5), "unknown event type 5"},
		{"type 255", set(profile, 1, 255), "unknown event type 255"},
		{"negative time", set(profile, 2, 0x80), "negative time"},
		{"trailing byte", append(bytes.Clone(profile), 0), "trailing"},
		{"trailing bytes close", append(bytes.Clone(closeNone), 1, 2, 3), "trailing"},
		{"truncated name", profile[:len(profile)-1], "truncated name"},
		{"truncated name length", profile[:body+1], "truncated name length"},
		{"name length over limit", rawProfile(MaxNameLen+1, strings.Repeat("a", MaxNameLen+1)), "name length 65"},
		{"name length 65535", rawProfile(0xffff, "a"), "name length 65535"},
		{"empty name", rawProfile(0, ""), "empty"},
		{"invalid utf8", rawProfile(3, "a\xc3b"), "UTF-8"},
		{"overlong utf8", rawProfile(2, "\xc0\xaf"), "UTF-8"},
		{"surrogate utf8", rawProfile(3, "\xed\xa0\x80"), "UTF-8"},
		{"control", rawProfile(3, "a\x07b"), "control"},
		{"currency other", rawOpen("USDT"), "currency"},
		{"currency long", rawOpen(strings.Repeat("U", maxCurrencyLen+1)), "currency length"},
		{"zero price", with(open, func(b []byte) []byte {
			copy(b[body+2+5:], make([]byte, 8))
			return b
		}), "zero"},
		{"truncated open", open[:len(open)-1], "truncated end time"},
		{"winner flag 2", set(closeNone, len(closeNone)-1, 2), "winner flag 2"},
		{"winner flag 255", set(closeNone, len(closeNone)-1, 255), "winner flag 255"},
		{"winner flag 1 no bid", set(closeNone, len(closeNone)-1, 1), "truncated winner"},
		{"winner flag 0 with bid", set(closeWin, body+AuctionIDSize, 0), "trailing"},
		{"winner other auction", set(closeWin, body, closeWin[body]^1), "winning bid is for auction"},
		{"winner bad version", set(closeWin, body+AuctionIDSize+1, 9), "version 9"},
		{"bid bad version", set(bid, body, 0), "version 0"},
		{"bid truncated", bid[:len(bid)-1], "truncated bid"},
		{"bid zero amount", with(bid, func(b []byte) []byte {
			copy(b[body+1+AuctionIDSize:], make([]byte, 8))
			return b
		}), "zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := UnmarshalEntry(tt.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("UnmarshalEntry = %#v, %v; want *DecodeError", e, err)
			}
			if !strings.Contains(de.Error(), tt.reason) {
				t.Fatalf("error %q does not mention %q", de.Error(), tt.reason)
			}
		})
	}
}

// FuzzUnmarshalEntry checks that decoding never panics, that every accepted input is the canonical
// encoding of its value (decode then encode gives the same bytes), and that what decodes validates.
func FuzzUnmarshalEntry(f *testing.F) {
	for _, tt := range testEntries() {
		f.Add(mustMarshal(f, tt.e))
	}
	f.Add([]byte{})
	f.Add([]byte{EntryVersion, byte(EventClose), 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEntry(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not *DecodeError", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("decoded entry does not validate: %v", err)
		}
		out, err := e.Marshal()
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n in  %x\n out %x", b, out)
		}
	})
}
