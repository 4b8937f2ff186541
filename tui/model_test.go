package tui

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

var errBidTooLow = errors.New("bid too low: at least 80.000001 USDt")

// The -update flag rewrites testdata/*.golden from the current views. teatest's golden package
// registers a flag of that name already; share it, or register it when absent.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite testdata/*.golden from the current views")
	}
	return true
}()

func updating() bool { f := flag.Lookup("update"); return f != nil && f.Value.String() == "true" }

func TestMain(m *testing.M) {
	// Goldens hold plain text: no colour, no emphasis, exactly what a NO_COLOR terminal shows.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// t0 is the fixed clock of every test.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return t0 }

func keyOf(b byte) wire.PeerKey {
	var k wire.PeerKey
	for i := range k {
		k[i] = b + byte(i%3)
	}
	return k
}

var (
	me    = keyOf(0xa0)
	alice = keyOf(0x10)
	bob   = keyOf(0x20)
	carol = keyOf(0x30)
	dave  = keyOf(0x40)
)

var names = map[wire.PeerKey]string{me: "me", alice: "alice", bob: "bob", carol: "carol", dave: ""}

func usd(s string) wire.Amount {
	a, err := wire.ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// mkAuction builds an auction opened by seller ago before t0, with bids of the given bidders and
// amounts, one second apart.
func mkAuction(seller wire.PeerKey, index uint64, item, price string, ago, ends time.Duration, bids ...any) auction.Auction {
	a := auction.Auction{ID: wire.DeriveAuctionID(seller, index), Item: item, Seller: seller, SellerName: names[seller],
		Price: usd(price), Currency: wire.Currency, Status: auction.StatusOpen, OpenedAt: t0.Add(-ago), OpenIndex: index}
	if ends != 0 {
		a.EndsAt = t0.Add(ends)
	}
	for i := 0; i+1 < len(bids); i += 2 {
		k := bids[i].(wire.PeerKey)
		at := a.OpenedAt.Add(time.Duration(i/2+1) * time.Second)
		a.Bids = append(a.Bids, auction.Bid{Bidder: k, BidderName: names[k], Amount: usd(bids[i+1].(string)),
			PlacedAt: at, AcceptedAt: at, Index: index + uint64(i/2) + 1})
	}
	return a
}

func closeIt(a auction.Auction, at time.Time) auction.Auction {
	a.Status, a.ClosedAt = auction.StatusClosed, at
	a.Bids = append([]auction.Bid(nil), a.Bids...)
	if h := a.Highest(); h != nil {
		w := *h
		a.Winner = &w
	}
	return a
}

// Sample auctions of the fixture market.
var (
	pic1  = mkAuction(alice, 1, "Pic#1", "75", 1*time.Minute, 4*time.Minute+5*time.Second, bob, "75", me, "80")
	pic2  = mkAuction(me, 1, "Pic#2", "60", 2*time.Minute, 0, carol, "61.5")
	pic3  = closeIt(mkAuction(bob, 1, "Pic#3", "100", 8*time.Minute, 0, alice, "120"), t0.Add(-time.Minute))
	lamp  = mkAuction(carol, 1, "Lamp (vintage, 1970s, brass and glass)", "12.25", 4*time.Minute, time.Hour+2*time.Minute)
	chair = mkAuction(alice, 2, "Chair", "0.000001", 3*time.Minute, 49*time.Hour)
)

func fixturePeers() []peer.PeerInfo {
	return []peer.PeerInfo{
		{Key: alice, Name: "alice", Addr: "127.0.0.1:4001", Connected: true, RTT: 12 * time.Millisecond, LogLength: 42},
		{Key: bob, Name: "bob", Addr: "127.0.0.1:4002", Connected: true, RTT: 3400 * time.Microsecond, LogLength: 17},
		{Key: carol, Name: "carol", Addr: "127.0.0.1:4003", LogLength: 9},
		{Key: dave, Addr: "127.0.0.1:4004", Equivocated: true, LogLength: 3},
	}
}

// newFixture returns the fake engine holding the fixture market and a model of it sized w x h,
// after its first snapshot.
func newFixture(t testing.TB, w, h int) (*fakeEngine, Model) {
	f := newFakeEngine(me, "me", fixedClock)
	f.next = 2
	for _, a := range []auction.Auction{pic1, pic2, pic3, lamp, chair} {
		f.add(a)
	}
	f.peers = fixturePeers()
	f.stats = peer.Stats{DHTNodes: 17, Peers: 4, Connected: 2, Sync: peer.SyncProgress{Have: 120, Want: 130}}
	m := New(f, WithClock(fixedClock), WithSize(w, h))
	m = send(t, m, m.snapshotCmd(true)())
	return f, m
}

// send feeds msgs to the model in order and returns the resulting model.
func send(t testing.TB, m Model, msgs ...tea.Msg) Model {
	t.Helper()
	for _, msg := range msgs {
		nm, _ := m.Update(msg)
		m = nm.(Model)
	}
	return m
}

// sendCmd feeds one message and returns the model and the command it returned.
func sendCmd(t testing.TB, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	nm, cmd := m.Update(msg)
	return nm.(Model), cmd
}

func keys(s ...string) []tea.Msg {
	var out []tea.Msg
	for _, k := range s {
		switch k {
		case "enter":
			out = append(out, tea.KeyMsg{Type: tea.KeyEnter})
		case "esc":
			out = append(out, tea.KeyMsg{Type: tea.KeyEsc})
		case "tab":
			out = append(out, tea.KeyMsg{Type: tea.KeyTab})
		case "shift+tab":
			out = append(out, tea.KeyMsg{Type: tea.KeyShiftTab})
		case "up":
			out = append(out, tea.KeyMsg{Type: tea.KeyUp})
		case "down":
			out = append(out, tea.KeyMsg{Type: tea.KeyDown})
		case "ctrl+c":
			out = append(out, tea.KeyMsg{Type: tea.KeyCtrlC})
		case "ctrl+u":
			out = append(out, tea.KeyMsg{Type: tea.KeyCtrlU})
		case "backspace":
			out = append(out, tea.KeyMsg{Type: tea.KeyBackspace})
		default:
			for _, r := range k {
				out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			}
		}
	}
	return out
}

// checkFrame asserts the view is exactly h lines of at most w cells.
func checkFrame(t testing.TB, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, want at most %d: %q", i, n, w, l)
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("view differs from %s (rerun with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// event wraps engine events as the message the event command delivers.
func event(evs ...peer.Event) eventsMsg { return eventsMsg{events: evs} }

func bidEvent(a auction.Auction, bidder wire.PeerKey, amount string) (auction.Auction, peer.Event) {
	at := t0
	b := auction.Bid{Bidder: bidder, BidderName: names[bidder], Amount: usd(amount), PlacedAt: at, AcceptedAt: at}
	a.Bids = append(append([]auction.Bid(nil), a.Bids...), b)
	return a, peer.Event{Kind: peer.EventBidAccepted, Time: at, Auction: a, Bid: b}
}

func closeEvent(a auction.Auction) peer.Event {
	c := closeIt(a, t0)
	return peer.Event{Kind: peer.EventAuctionClosed, Time: t0, Auction: c}
}

// scenario is a named sequence of messages applied to the fixture model.
type scenario struct {
	name string
	msgs func(f *fakeEngine, m Model) []tea.Msg
}

func msgs(ms ...tea.Msg) func(*fakeEngine, Model) []tea.Msg {
	return func(*fakeEngine, Model) []tea.Msg { return ms }
}

var scenarios = []scenario{
	{"browse", msgs()},
	{"select_down", msgs(keys("j", "j")...)},
	{"details", msgs(keys("enter")...)},
	{"help", msgs(keys("?")...)},
	{"filter_typing", msgs(keys("/", "lamp")...)},
	{"filter_applied", msgs(keys("/", "alice", "enter")...)},
	{"filter_nothing", msgs(keys("/", "zzz", "enter")...)},
	{"focus_peers", msgs(keys("tab", "tab", "j")...)},
	{"bid_form", msgs(keys("b")...)},
	{"bid_typed", msgs(keys("b", "81")...)},
	{"bid_invalid", msgs(keys("b", "12.3456789")...)},
	{"bid_below_min", msgs(keys("b", "80")...)},
	{"bid_rejected", msgs(append(keys("b", "enter"), bidResultMsg{id: pic1.ID, amount: usd("80.000001"),
		err: errBidTooLow})...)},
	{"bid_own_auction", msgs(keys("j", "b")...)},
	{"open_form", msgs(keys("o")...)},
	{"open_filled", msgs(keys("o", "Pic#9", "tab", "75.5", "tab", "90s")...)},
	{"open_invalid", msgs(keys("o", "tab", "75.1234567", "tab", "soon", "enter")...)},
	{"confirm_close", msgs(keys("j", "c")...)},
	{"close_not_own", msgs(keys("c")...)},
	{"notifications", func(_ *fakeEngine, _ Model) []tea.Msg {
		_, outbid := bidEvent(pic1, carol, "85")
		won := closeEvent(mkAuction(bob, 5, "Vase", "5", time.Minute, 0, me, "7"))
		sold := closeEvent(pic2)
		other := closeEvent(lamp)
		return []tea.Msg{event(outbid, won, sold, other), flushMsg{}}
	}},
	{"flash", func(_ *fakeEngine, _ Model) []tea.Msg {
		return []tea.Msg{event(closeEvent(pic1)), flushMsg{}}
	}},
	{"peer_events", func(_ *fakeEngine, _ Model) []tea.Msg {
		return []tea.Msg{event(
			peer.Event{Kind: peer.EventPeerDisconnected, Peer: peer.PeerInfo{Key: alice, LogLength: 42}},
			peer.Event{Kind: peer.EventEquivocation, Peer: peer.PeerInfo{Key: bob, Name: "bob", Connected: true, Equivocated: true}},
			peer.Event{Kind: peer.EventSync, Sync: peer.SyncProgress{Have: 130, Want: 130}},
		)}
	}},
	{"hostile_names", func(_ *fakeEngine, _ Model) []tea.Msg {
		a := mkAuction(dave, 1, "evil\x1b[31mRED\x1b[0m\nnext\u202eline", "1", 0, 0)
		a.SellerName = "\x1b]0;pwned\x07dave"
		return []tea.Msg{event(peer.Event{Kind: peer.EventAuctionOpened, Auction: a}), flushMsg{}}
	}},
}

func TestViewGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, sc := range scenarios {
			name := sc.name + "_" + itoa(size[0]) + "x" + itoa(size[1])
			t.Run(name, func(t *testing.T) {
				f, m := newFixture(t, size[0], size[1])
				for _, msg := range sc.msgs(f, m) {
					m = send(t, m, msg)
				}
				v := m.View()
				checkFrame(t, v, size[0], size[1])
				golden(t, name, v)
			})
		}
	}
}

func TestViewEmptyEngine(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		name := "empty_" + itoa(size[0]) + "x" + itoa(size[1])
		t.Run(name, func(t *testing.T) {
			f := newFakeEngine(me, "me", fixedClock)
			m := New(f, WithClock(fixedClock), WithSize(size[0], size[1]))
			m = send(t, m, m.snapshotCmd(true)())
			v := m.View()
			checkFrame(t, v, size[0], size[1])
			golden(t, name, v)
		})
	}
}
