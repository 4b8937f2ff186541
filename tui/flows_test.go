package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

func TestNavigation(t *testing.T) {
	_, m := newFixture(t, 80, 24)
	order := func(m Model) wire.AuctionID { return m.auctions.sel }
	if got := order(m); got != pic1.ID {
		t.Fatalf("first selection %x, want Pic#1", got)
	}
	tests := []struct {
		keys []string
		want wire.AuctionID
	}{
		{[]string{"j"}, pic2.ID},
		{[]string{"down", "down"}, lamp.ID},
		{[]string{"k"}, chair.ID},
		{[]string{"j", "j", "j", "j"}, pic3.ID}, // stops at the last row
		{[]string{"up", "up", "up", "up", "up", "up"}, pic1.ID},
	}
	for _, tc := range tests {
		m = send(t, m, keys(tc.keys...)...)
		if got := order(m); got != tc.want {
			t.Errorf("after %v: selected %x, want %x", tc.keys, got, tc.want)
		}
	}
	// Tab moves focus; j then moves within the focused pane only.
	m = send(t, m, keys("tab", "tab", "j")...)
	if m.focus != panePeers || m.peers.cursor != 1 || m.auctions.sel != pic1.ID {
		t.Errorf("focus %d peers cursor %d selection %x: want peers pane, cursor 1, Pic#1", m.focus, m.peers.cursor, m.auctions.sel)
	}
	m = send(t, m, keys("tab")...)
	if m.focus != paneAuctions {
		t.Errorf("focus %d after three tabs, want the auctions pane", m.focus)
	}
}

func TestSelectionFollowsAuctionAcrossResort(t *testing.T) {
	_, m := newFixture(t, 80, 24)
	m = send(t, m, keys("j", "j")...) // Chair
	newer := mkAuction(carol, 7, "Newest", "1", 0, 0)
	m = send(t, m, event(peer.Event{Kind: peer.EventAuctionOpened, Auction: newer}), flushMsg{})
	if m.auctions.sel != chair.ID || m.auctions.rows[m.auctions.cursor].a.ID != chair.ID {
		t.Errorf("selection moved to %x after a re-sort, want Chair", m.auctions.sel)
	}
	if m.auctions.rows[0].a.ID != newer.ID {
		t.Errorf("first row %q, want the newest auction", m.auctions.rows[0].a.Item)
	}
}

func TestEventsCoalesceUntilFlush(t *testing.T) {
	_, m := newFixture(t, 80, 24)
	n := len(m.auctions.rows)
	a := mkAuction(carol, 9, "Late", "1", 0, 0)
	m, cmd := sendCmd(t, m, event(peer.Event{Kind: peer.EventAuctionOpened, Auction: a}))
	if cmd == nil || !m.flushArmed {
		t.Fatal("an event did not arm the flush tick")
	}
	if len(m.auctions.rows) != n {
		t.Fatal("the list was rebuilt per event; want it rebuilt on the flush tick")
	}
	b := mkAuction(carol, 10, "Later", "1", 0, 0)
	m = send(t, m, event(peer.Event{Kind: peer.EventAuctionOpened, Auction: b}))
	if armed := m.armFlush(); armed != nil {
		t.Fatal("a second flush tick was armed while one was on its way")
	}
	m = send(t, m, flushMsg{})
	if len(m.auctions.rows) != n+2 || m.flushArmed || m.auctions.dirty {
		t.Fatalf("after flush: %d rows armed=%v dirty=%v, want %d rows, idle", len(m.auctions.rows), m.flushArmed, m.auctions.dirty, n+2)
	}
}

func TestStaleSnapshotDoesNotRegress(t *testing.T) {
	_, m := newFixture(t, 80, 24)
	after, ev := bidEvent(pic1, carol, "90")
	m = send(t, m, event(ev), closeMsgFor(after))
	stale := snapshotMsg{auctions: []auction.Auction{pic1}, peers: fixturePeers()}
	m = send(t, m, stale, flushMsg{})
	got := m.auctions.get(pic1.ID).a
	if got.Status != auction.StatusClosed || len(got.Bids) != 3 {
		t.Errorf("stale snapshot wound Pic#1 back to %s with %d bids", got.Status, len(got.Bids))
	}
}

func closeMsgFor(a auction.Auction) eventsMsg { return event(closeEvent(a)) }

func TestBidFlow(t *testing.T) {
	f, m := newFixture(t, 80, 24)
	m = send(t, m, keys("b")...)
	if m.mode != modeBid || m.bidF.input.Value() != "" || m.bidF.input.Placeholder != "at least 80.000001" || m.bidF.problem != "" {
		t.Fatalf("bid form: mode %d value %q placeholder %q problem %q; want empty, the minimum as placeholder, valid",
			m.mode, m.bidF.input.Value(), m.bidF.input.Placeholder, m.bidF.problem)
	}
	for _, tc := range []struct{ typed, problem string }{
		{"abc", "not an amount"},
		{"80", "below the minimum 80.000001 USDt"},
		{"1.1234567", "more than 6 decimals"},
		{"  ", ""}, // empty: enter would bid the minimum
		{"90", ""},
	} {
		m = send(t, m, keys("ctrl+u", tc.typed)...)
		if !strings.Contains(m.bidF.problem, tc.problem) || (tc.problem == "") != (m.bidF.problem == "") {
			t.Errorf("typed %q: problem %q, want one containing %q", tc.typed, m.bidF.problem, tc.problem)
		}
	}
	m, cmd := sendCmd(t, m, keys("enter")[0])
	if cmd == nil || !m.bidF.pending {
		t.Fatal("enter on a valid amount sent nothing")
	}
	msg := cmd()
	r, ok := msg.(bidResultMsg)
	if !ok || r.err != nil || r.amount != usd("90") || r.id != pic1.ID {
		t.Fatalf("bid command returned %#v", msg)
	}
	if got := f.auctions[pic1.ID].Highest(); got == nil || got.Amount != usd("90") || got.Bidder != me {
		t.Fatalf("the engine holds highest %+v, want my 90 USDt", got)
	}
	m = send(t, m, msg)
	if m.mode != modeBrowse {
		t.Error("the form stayed open after the bid was accepted")
	}
	if last := m.notes.list[len(m.notes.list)-1].text; !strings.Contains(last, "your bid of 90 USDt on Pic#1 was accepted") {
		t.Errorf("notification %q", last)
	}
}

func TestBidRejectedBySellerShowsReason(t *testing.T) {
	f, m := newFixture(t, 80, 24)
	// Someone outbid us at the seller; this screen has not seen it yet.
	moved, _ := bidEvent(pic1, carol, "100")
	f.add(moved)
	m = send(t, m, keys("b")...)
	m, cmd := sendCmd(t, m, keys("enter")[0])
	m = send(t, m, cmd())
	if m.mode != modeBid || !strings.Contains(m.bidF.failed, "bid too low: at least 100.000001 USDt") {
		t.Fatalf("mode %d failed %q: want the form open showing the seller's reason", m.mode, m.bidF.failed)
	}
	if v := m.View(); !strings.Contains(v, "rejected: bid too low") {
		t.Errorf("the reason is not on screen:\n%s", v)
	}
	// Typing clears the old reason; esc cancels.
	m = send(t, m, keys("1")...)
	if m.bidF.failed != "" {
		t.Error("the rejection stayed after editing")
	}
	m = send(t, m, keys("esc")...)
	if m.mode != modeBrowse {
		t.Error("esc did not cancel the bid form")
	}
}

// TestBidTypedAmountIsNotAppended is the regression test for a form that started with the
// minimum filled in: typing "81" gave "80.00000181".
func TestBidTypedAmountIsNotAppended(t *testing.T) {
	f, m := newFixture(t, 80, 24)
	m = send(t, m, keys("b", "81")...)
	if got := m.bidF.input.Value(); got != "81" {
		t.Fatalf("typed 81, the input holds %q", got)
	}
	m, cmd := sendCmd(t, m, keys("enter")[0])
	if cmd == nil {
		t.Fatal("enter on 81 sent nothing")
	}
	if r := cmd().(bidResultMsg); r.err != nil || r.amount != usd("81") {
		t.Fatalf("sent %s (err %v), want 81", r.amount, r.err)
	}
	if got := f.auctions[pic1.ID].Highest(); got.Amount != usd("81") {
		t.Fatalf("the engine holds %s, want 81", got.Amount)
	}
	_ = m
}

// TestBidEmptyEnterBidsMinimum: enter on the empty input bids the minimum shown at that moment.
func TestBidEmptyEnterBidsMinimum(t *testing.T) {
	_, m := newFixture(t, 80, 24)
	m = send(t, m, keys("b")...)
	if v := m.View(); !strings.Contains(v, "amount at least 80.000001") || !strings.Contains(v, "enter bids the minimum 80.000001 USDt") {
		t.Fatalf("the empty form does not show the minimum:\n%s", v)
	}
	// A higher bid arrives while the form is open: the placeholder follows it.
	_, ev := bidEvent(pic1, carol, "85")
	m = send(t, m, event(ev), flushMsg{})
	if got := m.bidF.input.Placeholder; got != "at least 85.000001" {
		t.Errorf("placeholder %q after a higher bid, want the new minimum", got)
	}
	m, cmd := sendCmd(t, m, keys("enter")[0])
	if cmd == nil || !m.bidF.pending {
		t.Fatal("enter on the empty input sent nothing")
	}
	if r := cmd().(bidResultMsg); r.err != nil || r.amount != usd("85.000001") {
		t.Fatalf("sent %s (err %v), want the minimum 85.000001", r.amount, r.err)
	}
}

func TestBidFormTracksNewMinimum(t *testing.T) {
	_, m := newFixture(t, 80, 24)
	m = send(t, m, keys("b", "80.5")...) // above 80.000001, valid
	if m.bidF.problem != "" {
		t.Fatalf("80.5: problem %q", m.bidF.problem)
	}
	_, ev := bidEvent(pic1, carol, "85")
	m = send(t, m, event(ev), flushMsg{})
	if !strings.Contains(m.bidF.problem, "below the minimum 85.000001 USDt") {
		t.Errorf("problem %q after a higher bid arrived, want the new minimum", m.bidF.problem)
	}
}

func TestBidRefusedLocally(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		note string
	}{
		{"own auction", []string{"j", "b"}, "you sell Pic#2: you cannot bid on it"},
		{"closed", []string{"j", "j", "j", "j", "b"}, "Pic#3 is closed"},
		{"close not own", []string{"c"}, "only the seller closes Pic#1"},
		{"close closed", []string{"j", "j", "j", "j", "c"}, "only the seller closes Pic#3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, m := newFixture(t, 80, 24)
			m = send(t, m, keys(tc.keys...)...)
			if m.mode != modeBrowse {
				t.Errorf("mode %d, want no form", m.mode)
			}
			if last := m.notes.list[len(m.notes.list)-1].text; !strings.Contains(last, tc.note) {
				t.Errorf("notification %q, want %q", last, tc.note)
			}
		})
	}
}

func TestOpenFlow(t *testing.T) {
	f, m := newFixture(t, 80, 24)
	m = send(t, m, keys("o", "Pic#9", "tab", "75.5", "tab", "90s")...)
	if m.openF.problem != "" {
		t.Fatalf("problem %q on a valid form", m.openF.problem)
	}
	m, cmd := sendCmd(t, m, keys("enter")[0])
	if cmd == nil {
		t.Fatal("enter sent nothing")
	}
	msg := cmd()
	r := msg.(openResultMsg)
	if r.err != nil || r.a.Item != "Pic#9" || r.a.Price != usd("75.5") || !r.a.EndsAt.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("open returned %+v", r)
	}
	if _, ok := f.auctions[r.a.ID]; !ok {
		t.Fatal("the engine did not store the auction")
	}
	m = send(t, m, msg)
	if m.mode != modeBrowse || m.auctions.sel != r.a.ID {
		t.Errorf("mode %d selection %x: want the list with the new auction selected", m.mode, m.auctions.sel)
	}
	// The form starts empty next time.
	m = send(t, m, keys("o")...)
	if v := m.openF.inputs[fieldItem].Value(); v != "" {
		t.Errorf("open form kept %q", v)
	}
}

func TestOpenValidation(t *testing.T) {
	tests := []struct {
		name, item, price, dur, problem string
	}{
		{"empty item", "", "1", "", "item: required"},
		{"bad price", "x", "1.1234567", "", "price: not an amount"},
		{"zero price", "x", "0", "", "price: not an amount"},
		{"bad duration", "x", "1", "soon", "duration:"},
		{"negative duration", "x", "1", "-5m", "duration:"},
		{"ok no duration", "x", "1", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, m := newFixture(t, 80, 24)
			m = send(t, m, keys("o", tc.item, "tab", tc.price, "tab", tc.dur)...)
			m, cmd := sendCmd(t, m, keys("enter")[0])
			if tc.problem == "" {
				if cmd == nil || m.openF.problem != "" {
					t.Fatalf("valid form not sent: %q", m.openF.problem)
				}
				return
			}
			if cmd != nil || !strings.Contains(m.openF.problem, tc.problem) {
				t.Errorf("problem %q (sent: %v), want %q", m.openF.problem, cmd != nil, tc.problem)
			}
		})
	}
}

func TestCloseFlow(t *testing.T) {
	f, m := newFixture(t, 80, 24)
	m = send(t, m, keys("j", "c")...)
	if m.mode != modeConfirm {
		t.Fatal("c on an own auction did not ask to confirm")
	}
	m = send(t, m, keys("n")...)
	if m.mode != modeBrowse || f.auctions[pic2.ID].Status != auction.StatusOpen {
		t.Fatal("n did not cancel")
	}
	m = send(t, m, keys("c")...)
	m, cmd := sendCmd(t, m, keys("y")[0])
	if cmd == nil {
		t.Fatal("y sent nothing")
	}
	m = send(t, m, cmd())
	if f.auctions[pic2.ID].Status != auction.StatusClosed || m.mode != modeBrowse {
		t.Fatal("the auction was not closed")
	}
	if until, ok := m.auctions.flash[pic2.ID]; !ok || !until.Equal(t0.Add(FlashDuration)) {
		t.Errorf("no flash after the close: %v %v", until, ok)
	}
	if last := m.notes.list[len(m.notes.list)-1].text; last != "sold Pic#2 to carol for 61.5 USDt" {
		t.Errorf("notification %q", last)
	}
	// The close event from the engine arrives too: no second notification.
	n := len(m.notes.list)
	m = send(t, m, event(closeEvent(pic2)))
	if len(m.notes.list) != n {
		t.Error("the close was notified twice")
	}
}

func TestFlashEnds(t *testing.T) {
	now := t0
	f := newFakeEngine(me, "me", func() time.Time { return now })
	f.add(pic1)
	m := New(f, WithClock(func() time.Time { return now }), WithSize(80, 24))
	m = send(t, m, m.snapshotCmd(true)(), event(closeEvent(pic1)), flushMsg{})
	if !strings.Contains(m.View(), "CLOSED") {
		t.Fatal("no flash right after the close")
	}
	now = t0.Add(FlashDuration)
	m = send(t, m, clockMsg{})
	if v := m.View(); strings.Contains(v, "CLOSED") || !strings.Contains(v, "closed") {
		t.Errorf("flash still on after FlashDuration:\n%s", v)
	}
}

func TestNotifications(t *testing.T) {
	_, outbid := bidEvent(pic1, carol, "85")
	_, notOutbid := bidEvent(chair, carol, "1")
	ownRaise, _ := bidEvent(pic1, me, "81")
	_, afterOwn := bidEvent(ownRaise, bob, "82")
	tests := []struct {
		name string
		ev   peer.Event
		want string // "" means no notification
	}{
		{"outbid", outbid, "outbid on Pic#1: carol bid 85 USDt (yours 80 USDt)"},
		{"bid on an auction I do not lead", notOutbid, ""},
		{"outbid after raising", afterOwn, "outbid on Pic#1: bob bid 82 USDt (yours 81 USDt)"},
		{"won", closeEvent(mkAuction(bob, 5, "Vase", "5", time.Minute, 0, me, "7")), "you won Vase for 7 USDt from bob"},
		{"sold", closeEvent(pic2), "sold Pic#2 to carol for 61.5 USDt"},
		{"own closed without bids", closeEvent(mkAuction(me, 9, "Rug", "5", time.Minute, 0)), "closed Rug with no bids"},
		{"won as the leader", closeEvent(pic1), "you won Pic#1 for 80 USDt from alice"},
		{"other closed", closeEvent(mkAuction(bob, 6, "Desk", "5", time.Minute, 0, alice, "6")), "closed Desk by bob: won by alice for 6 USDt"},
		{"other closed without bids", closeEvent(lamp), "closed Lamp (vintage, 1970s, brass and glass) by carol with no bids"},
		{"equivocation", peer.Event{Kind: peer.EventEquivocation, Peer: peer.PeerInfo{Key: bob, Name: "bob"}},
			"peer bob (20212220) signed two conflicting heads: no longer trusted"},
		{"peer connected", peer.Event{Kind: peer.EventPeerConnected, Peer: peer.PeerInfo{Key: dave, Connected: true}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, m := newFixture(t, 80, 24)
			m = send(t, m, event(tc.ev))
			got := ""
			if n := len(m.notes.list); n > 0 {
				got = m.notes.list[n-1].text
			}
			if got != tc.want {
				t.Errorf("notification %q, want %q", got, tc.want)
			}
		})
	}
}

// aged moves an event's bid or close back by d, as history caught up from a peer would be.
func aged(ev peer.Event, d time.Duration) peer.Event {
	a := ev.Auction
	a.Bids = append([]auction.Bid(nil), a.Bids...)
	if n := len(a.Bids); n > 0 {
		a.Bids[n-1].AcceptedAt = a.Bids[n-1].AcceptedAt.Add(-d)
	}
	if !a.ClosedAt.IsZero() {
		a.ClosedAt = a.ClosedAt.Add(-d)
	}
	ev.Auction = a
	return ev
}

// TestCaughtUpHistoryIsSummarised: bids and closes older than NotifyWindow (history a restarted
// or late peer catches up on) update the list but raise one "caught up" line, updated in place,
// instead of one notification each, and do not flash.
func TestCaughtUpHistoryIsSummarised(t *testing.T) {
	old := NotifyWindow + time.Second
	_, outbid := bidEvent(pic1, carol, "85")
	won := closeEvent(mkAuction(bob, 5, "Vase", "5", time.Hour, 0, me, "7"))
	sold := closeEvent(pic2)
	other := closeEvent(lamp)
	_, m := newFixture(t, 80, 24)
	m = send(t, m, event(aged(outbid, old), aged(won, old), aged(sold, old)), flushMsg{})
	if n := len(m.notes.list); n != 1 {
		t.Fatalf("%d notifications, want the one caught-up line: %+v", n, m.notes.list)
	}
	if got, want := m.notes.list[0].text, "caught up on older history: you won 1, sold 1, outbid on 1 (see the list)"; got != want {
		t.Errorf("notification %q, want %q", got, want)
	}
	if len(m.auctions.flash) != 0 {
		t.Errorf("caught-up closes flash: %v", m.auctions.flash)
	}
	if a := m.auctions.get(pic1.ID).a; len(a.Bids) != 3 {
		t.Errorf("Pic#1 has %d bids, want the caught-up bid in the list", len(a.Bids))
	}
	// A second caught-up batch updates the same line.
	m = send(t, m, event(aged(other, old)), flushMsg{})
	if n, got := len(m.notes.list), m.notes.list[len(m.notes.list)-1].text; n != 1 ||
		got != "caught up on older history: you won 1, sold 1, outbid on 1, 1 other auctions closed (see the list)" {
		t.Errorf("%d notifications, last %q; want the one line updated", n, got)
	}
	// A live event is notified as usual; older history after it starts a new line.
	chairClosed := closeEvent(chair)
	m = send(t, m, event(chairClosed), flushMsg{})
	if got := m.notes.list[len(m.notes.list)-1].text; got != "closed Chair by alice with no bids" {
		t.Errorf("live close: notification %q", got)
	}
	if _, ok := m.auctions.flash[chair.ID]; !ok {
		t.Error("a live close does not flash")
	}
	desk := closeEvent(mkAuction(bob, 6, "Desk", "5", time.Hour, 0, alice, "6"))
	m = send(t, m, event(aged(desk, old)), flushMsg{})
	if n, got := len(m.notes.list), m.notes.list[len(m.notes.list)-1].text; n != 3 ||
		got != "caught up on older history: 1 other auctions closed (see the list)" {
		t.Errorf("%d notifications, last %q; want a new caught-up line", n, got)
	}
	// Exactly at the window's edge, and ahead of this clock (a seller whose clock runs fast), is live.
	for _, d := range []time.Duration{NotifyWindow, -time.Hour} {
		_, m := newFixture(t, 80, 24)
		m = send(t, m, event(aged(outbid, d)), flushMsg{})
		if got := m.notes.list[len(m.notes.list)-1].text; !strings.HasPrefix(got, "outbid on Pic#1") {
			t.Errorf("bid %s old: notification %q, want the outbid line", d, got)
		}
	}
}

func TestFilter(t *testing.T) {
	_, m := newFixture(t, 80, 24)
	tests := []struct {
		keys  []string
		items int
	}{
		{[]string{"/", "PIC"}, 3}, // item, case-insensitive
		{[]string{"enter"}, 3},    // kept after enter
		{[]string{"/", "backspace", "backspace", "backspace", "alice", "enter"}, 2}, // seller name
		{[]string{"esc"}, 5},                // esc clears
		{[]string{"/", "1011", "enter"}, 2}, // seller key prefix
		{[]string{"/", "esc"}, 5},
	}
	for _, tc := range tests {
		m = send(t, m, keys(tc.keys...)...)
		if len(m.auctions.rows) != tc.items {
			t.Errorf("after %v (filter %q): %d rows, want %d", tc.keys, m.auctions.filter, len(m.auctions.rows), tc.items)
		}
	}
}

func TestQuit(t *testing.T) {
	tests := []struct {
		name string
		keys []string
	}{
		{"q", []string{"q"}},
		{"ctrl+c", []string{"ctrl+c"}},
		{"ctrl+c in the bid form", []string{"b", "ctrl+c"}},
		{"ctrl+c in the open form", []string{"o", "ab", "ctrl+c"}},
		{"ctrl+c in the filter", []string{"/", "ctrl+c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, m := newFixture(t, 80, 24)
			ks := keys(tc.keys...)
			m = send(t, m, ks[:len(ks)-1]...)
			m, cmd := sendCmd(t, m, ks[len(ks)-1])
			if cmd == nil {
				t.Fatal("no command")
			}
			if _, ok := cmd().(tea.QuitMsg); !ok {
				t.Fatal("the command is not tea.Quit")
			}
			if m.ctx.Err() == nil {
				t.Error("the subscription context is still live after quitting")
			}
		})
	}
	// In a form, q is text.
	_, m := newFixture(t, 80, 24)
	m = send(t, m, keys("o", "q")...)
	if m.openF.inputs[fieldItem].Value() != "q" || m.ctx.Err() != nil {
		t.Error("q in the open form quit instead of typing")
	}
}

func TestEventStreamLifecycle(t *testing.T) {
	f, fixture := newFixture(t, 80, 24)
	m := New(f, WithClock(fixedClock)) // a fresh model: Init's subscription brings the snapshot
	m = send(t, m, m.subscribeCmd()())
	if m.events == nil {
		t.Fatal("not subscribed")
	}
	if len(m.auctions.rows) != len(fixture.auctions.rows) || len(m.peers.list) != 4 {
		t.Fatalf("after subscribing: %d auctions, %d peers; want the snapshot", len(m.auctions.rows), len(m.peers.list))
	}
	// Events already waiting arrive as one batch.
	_, e1 := bidEvent(pic1, carol, "85")
	_, e2 := bidEvent(chair, bob, "1")
	f.events <- e1
	f.events <- e2
	msg := waitEvents(m.events)()
	if b, ok := msg.(eventsMsg); !ok || len(b.events) != 2 {
		t.Fatalf("got %#v, want one batch of 2 events", msg)
	}
	// Quitting cancels the subscription: the blocked wait returns and its goroutine ends.
	done := make(chan tea.Msg, 1)
	wait := waitEvents(m.events)
	go func() { done <- wait() }()
	m, _ = sendCmd(t, m, keys("q")[0])
	select {
	case msg := <-done:
		if _, ok := msg.(eventsClosedMsg); !ok {
			t.Fatalf("got %#v, want eventsClosedMsg", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event wait did not end after quitting")
	}
	m = send(t, m, eventsClosedMsg{})
	if !m.eventsDone {
		t.Error("the closed stream was not recorded")
	}
}

func TestEventStreamEndsUnexpectedly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f := newFakeEngine(me, "me", fixedClock)
	m := New(f, WithClock(fixedClock), WithContext(ctx))
	m = send(t, m, eventsClosedMsg{})
	v := m.View()
	if !strings.Contains(v, "event stream ended") || !strings.Contains(v, "EVENTS STOPPED") {
		t.Errorf("a stopped engine is not shown:\n%s", v)
	}
}

func TestResize(t *testing.T) {
	for _, size := range [][2]int{{0, 0}, {1, 1}, {10, 3}, {40, 10}, {79, 23}, {80, 24}, {200, 60}} {
		for _, k := range [][]string{nil, {"enter"}, {"b"}, {"o"}, {"?"}, {"/"}} {
			_, m := newFixture(t, 80, 24)
			m = send(t, m, keys(k...)...)
			m = send(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			v := m.View()
			if size[0] == 0 || size[1] == 0 {
				if v != "" {
					t.Errorf("%v: view %q on an empty screen", size, v)
				}
				continue
			}
			checkFrame(t, v, size[0], size[1])
		}
	}
}

func TestDetailsScroll(t *testing.T) {
	f := newFakeEngine(me, "me", fixedClock)
	a := mkAuction(alice, 1, "Busy", "1", time.Hour, 0)
	for i := range 100 {
		a, _ = bidEvent(a, bob, wire.Amount(usd("1")+wire.Amount(i)).String())
	}
	f.add(a)
	m := New(f, WithClock(fixedClock), WithSize(80, 24))
	m = send(t, m, m.snapshotCmd(true)())
	m = send(t, m, keys("enter", "up", "up", "up")...)
	if m.bids.back != 3 {
		t.Errorf("scrolled back %d, want 3", m.bids.back)
	}
	v := m.View()
	if !strings.Contains(v, "scrolled back 3") || !strings.Contains(v, "1.000096 USDt") || strings.Contains(v, "1.000097 USDt") {
		t.Errorf("scrolled view still shows the newest bid:\n%s", v)
	}
	m = send(t, m, keys("down", "down", "down", "esc")...)
	if m.bids.back != 0 || m.details {
		t.Errorf("back %d details %v, want following the stream on the list", m.bids.back, m.details)
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Pic#1", "Pic#1"},
		{"Lampe à huile", "Lampe à huile"},
		{"a\x1b[31mb", "a?[31mb"},
		{"a\nb\tc\x7f", "a?b?c?"},
		{"x\u202ey", "x?y"},
		{"\xff", "?"},
		{"\u009b31m", "?31m"},
	}
	for _, tc := range tests {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTimeLeft(t *testing.T) {
	tests := []struct {
		left time.Duration
		want string
	}{
		{0, "due"},
		{-time.Second, "due"},
		{time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{60 * time.Second, "1m00s"},
		{4*time.Minute + 5*time.Second, "4m05s"},
		{time.Hour + 2*time.Minute, "1h02m"},
		{49 * time.Hour, "2d01h"},
	}
	for _, tc := range tests {
		a := auction.Auction{EndsAt: t0.Add(tc.left)}
		if tc.left == 0 {
			a.EndsAt = t0
		}
		if got := timeLeft(&a, t0); got != tc.want {
			t.Errorf("timeLeft(%v) = %q, want %q", tc.left, got, tc.want)
		}
	}
	if got := timeLeft(&auction.Auction{}, t0); got != "-" {
		t.Errorf("no deadline: %q, want -", got)
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		want string
	}{
		{"abc", 5, "abc  "},
		{"abcdef", 4, "abc…"},
		{"日本語", 4, "日… "}, // a wide rune does not fit the last cell
		{"x", 0, ""},
	}
	for _, tc := range tests {
		if got := fit(tc.s, tc.w); got != tc.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.want)
		}
	}
}

func TestCustomKeyMap(t *testing.T) {
	km := DefaultKeyMap()
	km.Bid = key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "bid"))
	f := newFakeEngine(me, "me", fixedClock)
	f.add(pic1)
	m := New(f, WithClock(fixedClock), WithKeyMap(km))
	m = send(t, m, m.snapshotCmd(true)())
	if m = send(t, m, keys("b")...); m.mode != modeBrowse {
		t.Fatal("b still bids after rebinding")
	}
	if m = send(t, m, keys("x")...); m.mode != modeBid {
		t.Fatal("x does not bid after rebinding")
	}
	if !strings.Contains(m.help.View(m.keys), "x bid") {
		t.Error("the help does not show the new binding")
	}
}

// TestStylesOnlyDecorate checks that colour and emphasis add nothing the plain text lacks: with
// a true-colour profile, the view with its escape sequences removed is the NO_COLOR view.
func TestStylesOnlyDecorate(t *testing.T) {
	_, m := newFixture(t, 80, 24)
	m = send(t, m, event(closeEvent(pic2)), flushMsg{})
	m = send(t, m, keys("tab")...)
	plain := m.View()
	lipgloss.SetColorProfile(termenv.TrueColor)
	t.Cleanup(func() { lipgloss.SetColorProfile(termenv.Ascii) })
	colour := m.View()
	if colour == plain {
		t.Fatal("the true-colour view has no styling")
	}
	if got := ansi.Strip(colour); got != plain {
		t.Errorf("styled view differs from the plain one beyond escapes:\n%s\n---\n%s", got, plain)
	}
}
