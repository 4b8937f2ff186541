package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/charmbracelet/x/ansi"
)

// shortKeyLen is the length of a short key or auction id as printed, in hex digits.
const shortKeyLen = 8

// noteKind is the tone of a notification.
type noteKind int

const (
	noteInfo noteKind = iota
	noteGood          // won, sold, own bid or open accepted
	noteBad           // outbid, errors
)

// note is one notification line.
type note struct {
	at      time.Time
	kind    noteKind
	text    string
	summary bool // the "caught up" line, updated in place while it is the newest
}

// caughtUp counts the notifications not raised one by one because their bid or close is older
// than NotifyWindow.
type caughtUp struct{ outbid, won, sold, closed int }

func (c caughtUp) zero() bool { return c == caughtUp{} }

func (c caughtUp) plus(d caughtUp) caughtUp {
	return caughtUp{c.outbid + d.outbid, c.won + d.won, c.sold + d.sold, c.closed + d.closed}
}

// text describes the counts, for example "caught up on older history: you won 1, sold 2,
// outbid on 1, 4 other auctions closed".
func (c caughtUp) text() string {
	var parts []string
	if c.won > 0 {
		parts = append(parts, "you won "+itoa(c.won))
	}
	if c.sold > 0 {
		parts = append(parts, "sold "+itoa(c.sold))
	}
	if c.outbid > 0 {
		parts = append(parts, "outbid on "+itoa(c.outbid))
	}
	if c.closed > 0 {
		parts = append(parts, itoa(c.closed)+" other auctions closed")
	}
	return "caught up on older history: " + strings.Join(parts, ", ") + " (see the list)"
}

// notes keeps the latest MaxNotifications notifications, oldest first.
type notes struct{ list []note }

func (n *notes) add(at time.Time, kind noteKind, text string) {
	if len(n.list) >= MaxNotifications {
		n.list = append(n.list[:0], n.list[len(n.list)-MaxNotifications+1:]...)
	}
	n.list = append(n.list, note{at: at, kind: kind, text: text})
}

// addCaughtUp shows the counts c: it adds them to the "caught up" line when that line is the
// newest notification, and adds such a line otherwise. shown holds the counts the newest
// "caught up" line reports; it returns the counts the line reports now.
func (n *notes) addCaughtUp(at time.Time, shown, c caughtUp) caughtUp {
	if l := len(n.list); l > 0 && n.list[l-1].summary {
		total := shown.plus(c)
		n.list[l-1] = note{at: at, kind: noteInfo, text: total.text(), summary: true}
		return total
	}
	n.add(at, noteInfo, c.text())
	n.list[len(n.list)-1].summary = true
	return c
}

// view draws the newest height notifications, newest at the bottom.
func (n *notes) view(b *strings.Builder, m *Model, width, height int) {
	st := m.st
	start := max(0, len(n.list)-height)
	shown := n.list[start:]
	for i := len(shown); i < height; i++ {
		if i == 0 && len(n.list) == 0 {
			writeLine(b, st.Muted.Render(fit("  notifications: outbid, won, sold and closed auctions show here", width)))
			continue
		}
		writeLine(b, fit("", width))
	}
	for _, nt := range shown {
		style := st.Note
		switch nt.kind {
		case noteGood:
			style = st.NoteGood
		case noteBad:
			style = st.NoteBad
		}
		writeLine(b, style.Render(fit("  "+clock(nt.at, m.loc())+" "+nt.text, width)))
	}
}

// statusView draws the status bar: own name and key, market, DHT size, peers and sync.
func statusView(b *strings.Builder, m *Model, width int) {
	s := m.stats
	sync := "sync -"
	switch {
	case s.Sync.Want == 0 && s.Sync.Have == 0:
	case s.Sync.Synced():
		sync = "synced " + utoa(s.Sync.Have)
	default:
		sync = "syncing " + utoa(s.Sync.Have) + "/" + utoa(s.Sync.Want)
	}
	left := " "
	if m.eventsDone {
		left += "EVENTS STOPPED │ "
	}
	left += clean(m.name) + " " + m.me.Short() + " │ market " + clean(m.market) + " │ DHT " + itoa(s.DHTNodes) +
		" │ peers " + itoa(s.Connected) + "/" + itoa(s.Peers) + " │ " + sync
	right := clock(m.t, m.loc()) + " "
	gap := max(0, width-ansi.StringWidth(right))
	writeLine(b, m.st.StatusBar.Render(fit(left, gap)+right))
}

// writeTitle writes a pane title line. The focused pane's title starts with "▸", so focus shows
// without colour too.
func writeTitle(b *strings.Builder, st *Styles, title string, width int, focused bool) {
	if focused {
		writeLine(b, st.TitleFocused.Render(fit("▸ "+title, width)))
		return
	}
	writeLine(b, st.Title.Render(fit("  "+title, width)))
}

// writeLine appends one screen line and a newline.
func writeLine(b *strings.Builder, s string) {
	b.WriteString(s)
	b.WriteByte('\n')
}

func itoa(n int) string    { return strconv.Itoa(n) }
func utoa(n uint64) string { return strconv.FormatUint(n, 10) }

// peerEventNote describes a peer event worth a notification, or returns "".
func peerEventNote(ev *peer.Event) string {
	if ev.Kind == peer.EventEquivocation {
		return "peer " + peerLabel(ev.Peer.Name, ev.Peer.Key) + " (" + ev.Peer.Key.Short() +
			") signed two conflicting heads: no longer trusted"
	}
	return ""
}
