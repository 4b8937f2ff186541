package tui

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
	"github.com/charmbracelet/x/ansi"
)

// ellipsis ends text cut to fit a column.
const ellipsis = "…"

// usdt prints an amount the way every screen of the TUI does: exact decimal plus the currency.
func usdt(a wire.Amount) string { return a.String() + " " + wire.Currency }

// clean makes text that came from other peers safe to print: control characters (which could
// carry terminal escape sequences or break the layout), bidirectional overrides and invalid
// UTF-8 are each replaced by '?'.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if unsafeRune(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unsafeRune(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case r == utf8.RuneError, unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F:
		return true
	}
	return false
}

// fit cuts s to w cells (ending it with an ellipsis when cut) and pads it with spaces to exactly
// w cells. s must hold no escape sequences.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, ellipsis)
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// fitRight is fit with the text aligned right.
func fitRight(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return fit(s, w)
	}
	return strings.Repeat(" ", w-sw) + s
}

// peerLabel names a peer by display name, or by short key when no name is known.
func peerLabel(name string, key wire.PeerKey) string {
	if name != "" {
		return clean(name)
	}
	return key.Short()
}

// timeLeft prints the time left before an open auction's deadline: "1d02h", "1h02m", "4m05s",
// "9s"; "due" once the deadline passed but the seller's close has not arrived; "-" when the
// auction has no deadline.
func timeLeft(a *auction.Auction, now time.Time) string {
	if a.EndsAt.IsZero() {
		return "-"
	}
	d := a.EndsAt.Sub(now)
	if d <= 0 {
		return "due"
	}
	secs := int64((d + time.Second - 1) / time.Second) // round up: "1s" until the deadline
	days, hours, mins, s := secs/86400, secs%86400/3600, secs%3600/60, secs%60
	switch {
	case days > 0:
		return strconv.FormatInt(days, 10) + "d" + pad2(hours) + "h"
	case hours > 0:
		return strconv.FormatInt(hours, 10) + "h" + pad2(mins) + "m"
	case mins > 0:
		return strconv.FormatInt(mins, 10) + "m" + pad2(s) + "s"
	}
	return strconv.FormatInt(s, 10) + "s"
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// rtt prints a round trip in whole milliseconds; "-" when unknown.
func rtt(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return "<1ms"
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// clock prints a time of day in loc.
func clock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.In(loc).Format("15:04:05")
}
