package wire

import (
	"encoding/binary"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// EntryVersion is the version byte that starts every encoded Entry.
const EntryVersion = 1

// Limits of an encoded Entry and of its text fields, in bytes.
const (
	// MaxEntrySize is the largest encoded entry accepted, in bytes. UnmarshalEntry checks it first.
	MaxEntrySize = 1024
	// MaxNameLen is the longest Profile.Name, in bytes of UTF-8.
	MaxNameLen = 64
	// MaxItemLen is the longest Open.Item, in bytes of UTF-8.
	MaxItemLen = 128
	// maxCurrencyLen bounds the currency field before it is compared with Currency.
	maxCurrencyLen = 16
)

// Entry encoding (all integers big-endian):
//
//	entry    = version:u8 (EntryVersion) type:u8 time:i64 body
//	profile  = name:str
//	open     = item:str price:u64 currency:str ends_at:i64
//	bid      = signed_bid (SignedBidSize bytes, see bid.go)
//	close    = auction:[16]byte winner:u8 (0 or 1) [signed_bid, only when winner is 1]
//	str      = length:u16 bytes (UTF-8)
//
// Nothing may follow the body.

// Marshal validates e (see Validate) and returns its canonical encoding. Errors are *DecodeError.
func (e Entry) Marshal() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, e.size())
	b = append(b, EntryVersion, byte(e.Event.Type()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time))
	switch ev := e.Event.(type) {
	case *Profile:
		b = appendStr(b, ev.Name)
	case *Open:
		b = appendStr(b, ev.Item)
		b = binary.BigEndian.AppendUint64(b, uint64(ev.Price))
		b = appendStr(b, ev.Currency)
		b = binary.BigEndian.AppendUint64(b, uint64(ev.EndsAt))
	case *BidAccepted:
		b = ev.Bid.AppendBinary(b)
	case *Close:
		b = append(b, ev.Auction[:]...)
		if ev.Winner == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = ev.Winner.AppendBinary(b)
		}
	}
	return b, nil
}

// size returns the encoded size of a valid entry.
func (e Entry) size() int {
	n := 1 + 1 + 8
	switch ev := e.Event.(type) {
	case *Profile:
		n += 2 + len(ev.Name)
	case *Open:
		n += 2 + len(ev.Item) + 8 + 2 + len(ev.Currency) + 8
	case *BidAccepted:
		n += SignedBidSize
	case *Close:
		n += AuctionIDSize + 1
		if ev.Winner != nil {
			n += SignedBidSize
		}
	}
	return n
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// Validate checks everything UnmarshalEntry checks, without encoding:
//   - Time is not negative;
//   - Event is a non-nil *Profile, *Open, *BidAccepted or *Close;
//   - Profile.Name passes ValidateName and Open.Item passes ValidateItem;
//   - Open.Currency is Currency, Open.Price is Valid, Open.EndsAt is 0 or later than Time;
//   - every bid (BidAccepted.Bid, Close.Winner) passes Bid.Validate, and Close.Winner bids on
//     Close.Auction.
//
// It checks no signature and no auction rule (whether the auction exists, is open, whether the bid
// is high enough): those need the rest of the log. Errors are *DecodeError.
func (e Entry) Validate() error {
	if e.Time < 0 {
		return entryErr("negative time %d", e.Time)
	}
	switch ev := e.Event.(type) {
	case *Profile:
		if ev == nil {
			return entryErr("nil profile")
		}
		return wrapEntryErr(ValidateName(ev.Name))
	case *Open:
		if ev == nil {
			return entryErr("nil open")
		}
		if err := ValidateItem(ev.Item); err != nil {
			return wrapEntryErr(err)
		}
		if err := ev.Price.Valid(); err != nil {
			return &DecodeError{Type: "entry", Reason: "price: " + err.Error(), Err: err}
		}
		if ev.Currency != Currency {
			return entryErr("currency %q, want %q", truncate(ev.Currency, maxCurrencyLen), Currency)
		}
		if ev.EndsAt < 0 {
			return entryErr("negative end time %d", ev.EndsAt)
		}
		if ev.EndsAt != 0 && ev.EndsAt <= e.Time {
			return entryErr("end time %d is not after the entry time %d", ev.EndsAt, e.Time)
		}
		return nil
	case *BidAccepted:
		if ev == nil {
			return entryErr("nil bid accepted")
		}
		return wrapEntryErr(ev.Bid.Validate())
	case *Close:
		if ev == nil {
			return entryErr("nil close")
		}
		if ev.Winner == nil {
			return nil
		}
		if err := ev.Winner.Validate(); err != nil {
			return wrapEntryErr(err)
		}
		if ev.Winner.Auction != ev.Auction {
			return entryErr("winning bid is for auction %s, not %s", ev.Winner.Auction, ev.Auction)
		}
		return nil
	case nil:
		return entryErr("no event")
	default:
		return entryErr("unknown event %T", ev)
	}
}

func entryErr(format string, args ...any) *DecodeError {
	return &DecodeError{Type: "entry", Reason: fmt.Sprintf(format, args...)}
}

// wrapEntryErr reports err, a *DecodeError about a part of an entry, as a bad entry.
func wrapEntryErr(err error) error {
	if err == nil {
		return nil
	}
	if de, ok := err.(*DecodeError); ok {
		return &DecodeError{Type: "entry", Reason: de.Type + ": " + de.Reason, Err: de.Err}
	}
	return &DecodeError{Type: "entry", Reason: err.Error(), Err: err}
}

// ValidateName checks a display name: 1 to MaxNameLen bytes of valid UTF-8 (see validText for
// the characters refused). Errors are *DecodeError.
func ValidateName(s string) error { return validText("name", s, MaxNameLen) }

// ValidateItem checks an item description: 1 to MaxItemLen bytes of valid UTF-8 (see validText
// for the characters refused). Errors are *DecodeError.
func ValidateItem(s string) error { return validText("item", s, MaxItemLen) }

// validText checks that s is non-empty, at most max bytes, valid UTF-8, neither begins nor ends
// with white space, and holds no control characters (Unicode Cc), no line or paragraph separators
// and no bidirectional formatting characters (which could disguise text in a terminal).
func validText(field, s string, max int) error {
	bad := func(format string, args ...any) error {
		return &DecodeError{Type: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case s == "":
		return bad("empty")
	case len(s) > max:
		return bad("%d bytes, at most %d allowed", len(s), max)
	case !utf8.ValidString(s):
		return bad("not valid UTF-8")
	}
	for i, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f:
			// Printable ASCII: the common case.
		case unicode.IsControl(r):
			return bad("control character %U at byte %d", r, i)
		case r == '\u2028' || r == '\u2029':
			return bad("line separator %U at byte %d", r, i)
		case unicode.Is(unicode.Bidi_Control, r):
			return bad("bidirectional control %U at byte %d", r, i)
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return bad("begins or ends with white space")
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// UnmarshalEntry decodes one entry. It checks, in order: the size (at most MaxEntrySize, before
// anything else), the version byte, the event type, each field (string lengths against their limits
// before copying), that no bytes follow, and then everything Validate checks. A winner flag other
// than 0 or 1 is rejected, so every accepted input is the canonical encoding of its value:
// Marshal(UnmarshalEntry(b)) == b. Signatures are not verified. Errors are *DecodeError.
func UnmarshalEntry(b []byte) (Entry, error) {
	if len(b) > MaxEntrySize {
		return Entry{}, entryErr("size %d, at most %d allowed", len(b), MaxEntrySize)
	}
	r := reader{b: b, typ: "entry"}
	var e Entry
	version := r.u8("version")
	typ := EventType(r.u8("type"))
	e.Time = int64(r.u64("time"))
	if r.err != nil {
		return Entry{}, r.err
	}
	if version != EntryVersion {
		return Entry{}, entryErr("version %d, want %d", version, EntryVersion)
	}
	switch typ {
	case EventProfile:
		e.Event = &Profile{Name: r.str("name", MaxNameLen)}
	case EventOpen:
		ev := &Open{}
		ev.Item = r.str("item", MaxItemLen)
		ev.Price = Amount(r.u64("price"))
		if cur := r.strBytes("currency", maxCurrencyLen); string(cur) == Currency {
			ev.Currency = Currency // the common case, without a copy
		} else {
			ev.Currency = string(cur)
		}
		ev.EndsAt = int64(r.u64("end time"))
		e.Event = ev
	case EventBid:
		ev := &BidAccepted{}
		ev.Bid = r.signedBid("bid")
		e.Event = ev
	case EventClose:
		ev := &Close{}
		copy(ev.Auction[:], r.bytes("auction", AuctionIDSize))
		switch flag := r.u8("winner flag"); {
		case r.err != nil:
		case flag == 1:
			w := r.signedBid("winner")
			ev.Winner = &w
		case flag != 0:
			r.fail("winner flag %d, want 0 or 1", flag)
		}
		e.Event = ev
	default:
		return Entry{}, entryErr("unknown event type %d", typ)
	}
	if r.err != nil {
		return Entry{}, r.err
	}
	if len(r.b) != 0 {
		return Entry{}, entryErr("%d trailing bytes", len(r.b))
	}
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// reader decodes fields from b, remembering the first error.
type reader struct {
	b   []byte
	typ string // the DecodeError.Type of failures
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &DecodeError{Type: r.typ, Reason: fmt.Sprintf(format, args...)}
	}
}

// bytes returns the next n bytes (aliasing the input), or nil after an error.
func (r *reader) bytes(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail("truncated %s: %d bytes left, want %d", field, len(r.b), n)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8(field string) byte {
	if v := r.bytes(field, 1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u32(field string) uint32 {
	if v := r.bytes(field, 4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64(field string) uint64 {
	if v := r.bytes(field, 8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// str reads a u16-length-prefixed string, checking the length against max before copying.
func (r *reader) str(field string, max int) string { return string(r.strBytes(field, max)) }

// strBytes reads a u16-length-prefixed string, checking the length against max, and returns its
// bytes aliasing the input.
func (r *reader) strBytes(field string, max int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < 2 {
		r.fail("truncated %s length: %d bytes left, want 2", field, len(r.b))
		return nil
	}
	n := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	if int(n) > max {
		r.fail("%s length %d, at most %d allowed", field, n, max)
		return nil
	}
	return r.bytes(field, int(n))
}

func (r *reader) signedBid(field string) SignedBid {
	v := r.bytes(field, SignedBidSize)
	if v == nil {
		return SignedBid{}
	}
	s, err := decodeSignedBid(v)
	if err != nil && r.err == nil {
		de := err.(*DecodeError)
		r.err = &DecodeError{Type: r.typ, Reason: field + ": " + de.Reason, Err: de.Err}
	}
	return s
}
