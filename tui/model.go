package tui

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// pane names the focusable panes, in tab order.
type pane int

const (
	paneAuctions pane = iota
	paneBids
	panePeers
	paneCount
)

// mode is what the keyboard drives.
type mode int

const (
	modeBrowse  mode = iota // the panes
	modeFilter              // the filter input
	modeBid                 // the bid form
	modeOpen                // the open form
	modeConfirm             // the close confirmation
)

// Model is the TUI: a tea.Model made of one model per pane (auctions, bid stream, peers), the
// status bar, notifications, help and the forms. Build it with New and run it with
// tea.NewProgram. Copies of a Model share one state, so use only the value returned by the latest
// Update, as bubbletea does.
type Model struct {
	*model // one shared state: bubbletea boxes the model on every Update, so it stays one word
}

// model is the state of a Model.
type model struct {
	e      Engine
	keys   KeyMap
	st     *Styles
	now    func() time.Time
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	me           wire.PeerKey
	name, market string

	t             time.Time // the clock at the latest Update; View shows times relative to it
	width, height int
	focus         pane
	mode          mode
	details       bool // the details screen of the selected auction is shown

	auctions auctionsPane
	bids     bidsPane
	peers    peersPane
	stats    peer.Stats
	notes    *notes
	help     help.Model

	filter  textinput.Model
	bidF    bidForm
	openF   openForm
	confirm confirmForm

	events          <-chan peer.Event
	eventsDone      bool // the event stream closed
	flushArmed      bool // a flush tick is on its way
	snapshotPending bool // a snapshot command is running
	lastResync      time.Time

	// Notifications of bids and closes older than NotifyWindow, counted until the next flush
	// (pending) and as the newest "caught up" line shows them (shown).
	caughtPending, caughtShown caughtUp
}

// New returns the TUI model for e. The model subscribes to e's events when the program starts
// (Init) and stops its subscription when it quits; the caller closes e after the program returns.
func New(e Engine, opts ...Option) Model {
	c := config{keys: DefaultKeyMap(), clock: time.Now, width: DefaultWidth, height: DefaultHeight, ctx: context.Background()}
	for _, o := range opts {
		o(&c)
	}
	if c.styles == nil {
		s := DefaultStyles()
		c.styles = &s
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(c.ctx)
	m := Model{&model{
		e: e, keys: c.keys, st: c.styles, now: c.clock, log: c.log, ctx: ctx, cancel: cancel,
		me: e.Key(), name: e.Name(), market: e.Market(),
		width: c.width, height: c.height,
		auctions: newAuctionsPane(),
		notes:    &notes{},
		help:     help.New(),
		filter:   newInput("filter: ", MaxFilterInput),
		openF:    newOpenForm(),
	}}
	m.help.Styles = c.styles.Help
	m.t = m.now()
	m.lastResync = m.t
	m.relayout()
	return m
}

// Messages the model sends itself.
type (
	subscribedMsg struct {
		ch       <-chan peer.Event
		snapshot snapshotMsg
	}
	eventsMsg       struct{ events []peer.Event }
	eventsClosedMsg struct{}
	flushMsg        struct{}
	clockMsg        struct{}
	snapshotMsg     struct {
		auctions []auction.Auction // nil unless the auctions were read
		peers    []peer.PeerInfo
		stats    peer.Stats
	}
	bidResultMsg struct {
		id     wire.AuctionID
		amount wire.Amount
		bid    auction.Bid
		err    error
	}
	openResultMsg struct {
		a   auction.Auction
		err error
	}
	closeResultMsg struct {
		id  wire.AuctionID
		a   auction.Auction
		err error
	}
)

// Init subscribes to the engine's events, then reads the first snapshot, and starts the clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.subscribeCmd(), clockTick())
}

// subscribeCmd subscribes first and reads the snapshot second, so that no change falls between
// the two: a change made in between shows in both, and the merge keeps the fresher state.
func (m Model) subscribeCmd() tea.Cmd {
	e, ctx, snap := m.e, m.ctx, m.snapshotCmd(true)
	return func() tea.Msg {
		ch := e.Subscribe(ctx)
		return subscribedMsg{ch: ch, snapshot: snap().(snapshotMsg)}
	}
}

// waitEvents blocks for one event, then takes the events already waiting, up to MaxEventBatch.
func waitEvents(ch <-chan peer.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{}
		}
		batch := []peer.Event{ev}
		for len(batch) < MaxEventBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					return eventsMsg{events: batch} // the next wait reports the close
				}
				batch = append(batch, ev)
			default:
				return eventsMsg{events: batch}
			}
		}
		return eventsMsg{events: batch}
	}
}

func (m Model) snapshotCmd(withAuctions bool) tea.Cmd {
	e := m.e
	return func() tea.Msg {
		s := snapshotMsg{peers: e.Peers(), stats: e.Stats()}
		if withAuctions {
			s.auctions = e.Auctions()
			if s.auctions == nil {
				s.auctions = []auction.Auction{}
			}
		}
		return s
	}
}

func clockTick() tea.Cmd {
	return tea.Tick(ClockInterval, func(time.Time) tea.Msg { return clockMsg{} })
}
func flushTick() tea.Cmd {
	return tea.Tick(RefreshInterval, func(time.Time) tea.Msg { return flushMsg{} })
}

func (m Model) bidCmd(id wire.AuctionID, amount wire.Amount) tea.Cmd {
	e, ctx := m.e, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, EngineCallTimeout)
		defer cancel()
		b, err := e.Bid(ctx, id.String(), amount)
		return bidResultMsg{id: id, amount: amount, bid: b, err: err}
	}
}

func (m Model) openCmd(item string, price wire.Amount, d time.Duration) tea.Cmd {
	e, ctx := m.e, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, EngineCallTimeout)
		defer cancel()
		a, err := e.Open(ctx, item, price, d)
		return openResultMsg{a: a, err: err}
	}
}

func (m Model) closeCmd(id wire.AuctionID) tea.Cmd {
	e, ctx := m.e, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, EngineCallTimeout)
		defer cancel()
		a, err := e.CloseAuction(ctx, id.String())
		return closeResultMsg{id: id, a: a, err: err}
	}
}

// Update handles one message. It never blocks: engine calls run in the commands it returns.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.t = m.now()
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.relayout()
		return m, nil
	case tea.KeyMsg:
		return m.updateKey(msg)
	case subscribedMsg:
		m.applySnapshot(msg.snapshot)
		m.events = msg.ch
		if m.events == nil {
			m.eventsDone = true
			return m, m.armFlush()
		}
		return m, tea.Batch(waitEvents(m.events), m.armFlush())
	case eventsMsg:
		for i := range msg.events {
			m.applyEvent(&msg.events[i])
		}
		return m, tea.Batch(waitEvents(m.events), m.armFlush())
	case eventsClosedMsg:
		m.eventsDone = true
		if m.ctx.Err() == nil {
			m.notes.add(m.t, noteBad, "the engine's event stream ended: the screen no longer updates live")
		}
		return m, nil
	case flushMsg:
		m.flushArmed = false
		m.flush()
		return m, nil
	case clockMsg:
		cmds := []tea.Cmd{clockTick()}
		if !m.snapshotPending {
			m.snapshotPending = true
			resync := m.t.Sub(m.lastResync) >= ResyncInterval
			if resync {
				m.lastResync = m.t
			}
			cmds = append(cmds, m.snapshotCmd(resync))
		}
		for id, until := range m.auctions.flash {
			if !m.t.Before(until) {
				delete(m.auctions.flash, id)
			}
		}
		return m, tea.Batch(cmds...)
	case snapshotMsg:
		m.snapshotPending = false
		m.applySnapshot(msg)
		return m, m.armFlush()
	case bidResultMsg:
		m.bidResult(msg)
		return m, m.armFlush()
	case openResultMsg:
		m.openResult(msg)
		return m, m.armFlush()
	case closeResultMsg:
		m.closeResult(msg)
		return m, m.armFlush()
	}
	return m, nil
}

// armFlush returns the flush tick when the list is dirty and no flush is on its way.
func (m *Model) armFlush() tea.Cmd {
	if !m.auctions.dirty || m.flushArmed {
		return nil
	}
	m.flushArmed = true
	return flushTick()
}

// flush rebuilds the auctions list and re-checks an open bid form against the new minimum.
func (m *Model) flush() {
	if !m.caughtPending.zero() {
		m.caughtShown = m.notes.addCaughtUp(m.t, m.caughtShown, m.caughtPending)
		m.caughtPending = caughtUp{}
	}
	prev := m.auctions.sel
	m.auctions.rebuild()
	if m.auctions.sel != prev {
		m.bids.back = 0
	}
	m.auctions.scrollTo(m.layout().listRows)
	if m.mode == modeBid && !m.bidF.pending {
		if e := m.auctions.get(m.bidF.id); e != nil {
			m.bidF.validate(e.a.MinNextBid())
		}
	}
}

// applyEvent folds one engine event into the model and raises its notification.
func (m *Model) applyEvent(ev *peer.Event) {
	switch ev.Kind {
	case peer.EventAuctionOpened, peer.EventBidAccepted, peer.EventAuctionClosed:
		a := ev.Auction
		if ev.Kind == peer.EventBidAccepted && len(a.Bids) == 0 {
			return // not the auction's state after the bid; the next snapshot carries it
		}
		prev, stored := m.auctions.put(a)
		if !stored {
			return
		}
		e := m.auctions.get(a.ID)
		switch ev.Kind {
		case peer.EventBidAccepted:
			m.noteBid(e, prev)
		case peer.EventAuctionClosed:
			if prev == nil || prev.Status != auction.StatusClosed {
				if !m.recent(a.ClosedAt) {
					m.countClose(e)
					break
				}
				m.auctions.flash[a.ID] = m.t.Add(FlashDuration)
				m.noteClose(e)
			}
		}
	case peer.EventPeerConnected, peer.EventPeerDisconnected, peer.EventEquivocation:
		m.peers.upsert(ev.Peer)
		m.stats.Peers, m.stats.Connected = m.peers.counts()
		if s := peerEventNote(ev); s != "" {
			m.notes.add(m.t, noteBad, s)
		}
	case peer.EventSync:
		m.stats.Sync = ev.Sync
	}
}

// noteBid raises "outbid" when the bid beat this peer's highest bid.
func (m *Model) noteBid(e *entry, prev *auction.Auction) {
	a := &e.a
	top := a.Highest()
	if top == nil || top.Bidder == m.me {
		return
	}
	var before *auction.Bid
	if n := len(a.Bids); n >= 2 {
		before = &a.Bids[n-2]
	} else if prev != nil {
		before = prev.Highest()
	}
	if before != nil && before.Bidder == m.me {
		if !m.recent(top.AcceptedAt) {
			m.caughtPending.outbid++
			return
		}
		m.notes.add(m.t, noteBad, "outbid on "+e.item+": "+m.who(top.BidderName, top.Bidder)+" bid "+
			usdt(top.Amount)+" (yours "+usdt(before.Amount)+")")
	}
}

// recent reports whether a bid or close written by its seller at t is recent enough (within
// NotifyWindow of this screen's clock, or ahead of it) to raise its own notification.
func (m *Model) recent(t time.Time) bool { return m.t.Sub(t) <= NotifyWindow }

// countClose counts a close caught up from history for the "caught up" notification.
func (m *Model) countClose(e *entry) {
	a := &e.a
	switch {
	case a.Winner != nil && a.Winner.Bidder == m.me:
		m.caughtPending.won++
	case a.Seller == m.me && a.Winner != nil:
		m.caughtPending.sold++
	default:
		m.caughtPending.closed++
	}
}

// noteClose raises "you won", "sold" or "closed".
func (m *Model) noteClose(e *entry) {
	a := &e.a
	w := a.Winner
	switch {
	case w != nil && w.Bidder == m.me:
		m.notes.add(m.t, noteGood, "you won "+e.item+" for "+usdt(w.Amount)+" from "+e.seller)
	case a.Seller == m.me && w != nil:
		m.notes.add(m.t, noteGood, "sold "+e.item+" to "+m.who(w.BidderName, w.Bidder)+" for "+usdt(w.Amount))
	case a.Seller == m.me:
		m.notes.add(m.t, noteInfo, "closed "+e.item+" with no bids")
	case w != nil:
		m.notes.add(m.t, noteInfo, "closed "+e.item+" by "+e.seller+": won by "+m.who(w.BidderName, w.Bidder)+
			" for "+usdt(w.Amount))
	default:
		m.notes.add(m.t, noteInfo, "closed "+e.item+" by "+e.seller+" with no bids")
	}
}

func (m *Model) applySnapshot(s snapshotMsg) {
	m.peers.set(s.peers)
	m.stats = s.stats
	first := len(m.auctions.byID) == 0
	for _, a := range s.auctions {
		m.auctions.put(a)
	}
	if first && s.auctions != nil {
		m.flush() // show the first snapshot at once
	}
}

func (m *Model) bidResult(r bidResultMsg) {
	item := r.id.Short()
	if e := m.auctions.get(r.id); e != nil {
		item = e.item
	}
	open := m.mode == modeBid && m.bidF.id == r.id && m.bidF.pending
	if open {
		m.bidF.pending = false
	}
	if r.err != nil {
		m.log.Info("bid rejected", "auction", r.id.String(), "amount", r.amount.String(), "err", r.err)
		if open {
			m.bidF.failed = r.err.Error()
			return
		}
		m.notes.add(m.t, noteBad, "bid "+usdt(r.amount)+" on "+item+" rejected: "+r.err.Error())
		return
	}
	if open {
		m.mode = modeBrowse
	}
	m.notes.add(m.t, noteGood, "your bid of "+usdt(r.amount)+" on "+item+" was accepted")
}

func (m *Model) openResult(r openResultMsg) {
	open := m.mode == modeOpen && m.openF.pending
	if open {
		m.openF.pending = false
	}
	if r.err != nil {
		m.log.Info("open failed", "err", r.err)
		if open {
			m.openF.failed = r.err.Error()
			return
		}
		m.notes.add(m.t, noteBad, "open failed: "+r.err.Error())
		return
	}
	if open {
		m.mode = modeBrowse
		m.openF = newOpenForm()
	}
	m.auctions.put(r.a)
	m.flush()
	m.auctions.selectID(r.a.ID)
	m.auctions.scrollTo(m.layout().listRows)
	m.notes.add(m.t, noteGood, "opened "+clean(r.a.Item)+" ("+r.a.ID.Short()+") at "+usdt(r.a.Price))
}

func (m *Model) closeResult(r closeResultMsg) {
	open := m.mode == modeConfirm && m.confirm.id == r.id && m.confirm.pending
	if open {
		m.confirm.pending = false
	}
	if r.err != nil {
		m.log.Info("close failed", "auction", r.id.String(), "err", r.err)
		if open {
			m.confirm.failed = r.err.Error()
			return
		}
		m.notes.add(m.t, noteBad, "close of "+r.id.Short()+" failed: "+r.err.Error())
		return
	}
	if open {
		m.mode = modeBrowse
	}
	if prev, stored := m.auctions.put(r.a); stored && (prev == nil || prev.Status != auction.StatusClosed) {
		m.auctions.flash[r.id] = m.t.Add(FlashDuration)
		m.noteClose(m.auctions.get(r.id))
	}
}

// updateKey routes a key press by mode.
func (m Model) updateKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if key.Matches(k, m.keys.QuitAlways) {
		return m.quit()
	}
	switch m.mode {
	case modeFilter:
		return m.keyFilter(k)
	case modeBid:
		return m.keyBid(k)
	case modeOpen:
		return m.keyOpen(k)
	case modeConfirm:
		return m.keyConfirm(k)
	}
	return m.keyBrowse(k)
}

func (m Model) quit() (tea.Model, tea.Cmd) {
	m.cancel()
	return m, tea.Quit
}

func (m Model) keyBrowse(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	km := m.keys
	lay := m.layout()
	switch {
	case key.Matches(k, km.Quit):
		return m.quit()
	case key.Matches(k, km.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.relayout()
	case key.Matches(k, km.Cancel):
		switch {
		case m.details:
			m.details = false
		case m.auctions.filter != "":
			m.auctions.filter = ""
			m.filter.SetValue("")
			m.flush()
		}
	case key.Matches(k, km.Details):
		if m.auctions.selected() != nil || m.details {
			m.details = !m.details
		}
	case key.Matches(k, km.NextPane):
		if !m.details {
			m.focus = (m.focus + 1) % paneCount
		}
	case key.Matches(k, km.Filter):
		m.mode = modeFilter
		m.filter.SetValue(m.auctions.filter)
		m.filter.CursorEnd()
		return m, m.filter.Focus()
	case key.Matches(k, km.Up), key.Matches(k, km.Down), key.Matches(k, km.PageUp), key.Matches(k, km.PageDown):
		m.move(k, lay)
	case key.Matches(k, km.Bid):
		return m.startBid()
	case key.Matches(k, km.Open):
		m.mode = modeOpen
		m.openF.failed, m.openF.tried = "", false
		m.openF.focusField(fieldItem)
		m.openF.values()
		return m, m.openF.inputs[fieldItem].Focus()
	case key.Matches(k, km.Close):
		return m.startClose()
	}
	return m, nil
}

// move handles up, down, page up and page down for the focused pane.
func (m *Model) move(k tea.KeyMsg, lay layout) {
	km := m.keys
	delta := 1
	switch {
	case key.Matches(k, km.Up):
		delta = -1
	case key.Matches(k, km.PageUp):
		delta = -max(lay.listRows, 1)
	case key.Matches(k, km.PageDown):
		delta = max(lay.listRows, 1)
	}
	focus := m.focus
	if m.details {
		focus = paneBids
	}
	switch focus {
	case paneAuctions:
		prev := m.auctions.sel
		m.auctions.selectRow(m.auctions.cursor + delta)
		m.auctions.scrollTo(lay.listRows)
		if m.auctions.sel != prev {
			m.bids.back = 0
		}
	case paneBids:
		if e := m.auctions.selected(); e != nil {
			m.bids.scroll(-delta, len(e.a.Bids), lay.bidRows)
		}
	case panePeers:
		m.peers.move(delta, lay.peerRows)
	}
}

func (m Model) startBid() (tea.Model, tea.Cmd) {
	e := m.auctions.selected()
	switch {
	case e == nil:
		m.notes.add(m.t, noteBad, "no auction selected")
		return m, nil
	case e.a.Status == auction.StatusClosed:
		m.notes.add(m.t, noteBad, e.item+" is closed")
		return m, nil
	case e.a.Seller == m.me:
		m.notes.add(m.t, noteBad, "you sell "+e.item+": you cannot bid on it")
		return m, nil
	}
	min := e.a.MinNextBid()
	m.bidF = bidForm{id: e.a.ID, input: newAmountInput()}
	m.bidF.validate(min) // empty, with the minimum as the placeholder
	m.mode = modeBid
	return m, m.bidF.input.Focus()
}

func (m Model) startClose() (tea.Model, tea.Cmd) {
	e := m.auctions.selected()
	switch {
	case e == nil:
		m.notes.add(m.t, noteBad, "no auction selected")
		return m, nil
	case e.a.Seller != m.me:
		m.notes.add(m.t, noteBad, "only the seller closes "+e.item+": it is not yours")
		return m, nil
	case e.a.Status == auction.StatusClosed:
		m.notes.add(m.t, noteBad, e.item+" is closed already")
		return m, nil
	}
	m.confirm = confirmForm{id: e.a.ID}
	m.mode = modeConfirm
	return m, nil
}

func (m Model) keyFilter(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Cancel):
		m.filter.Blur()
		m.filter.SetValue("")
		m.auctions.filter = ""
		m.mode = modeBrowse
		m.flush()
		return m, nil
	case key.Matches(k, m.keys.Submit):
		m.filter.Blur()
		m.mode = modeBrowse
		return m, nil
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(k)
	if v := m.filter.Value(); v != m.auctions.filter {
		m.auctions.filter = v
		m.flush()
	}
	return m, cmd
}

func (m Model) keyBid(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	e := m.auctions.get(m.bidF.id)
	switch {
	case key.Matches(k, m.keys.Cancel):
		m.mode = modeBrowse
		return m, nil
	case key.Matches(k, m.keys.Submit):
		if m.bidF.pending || e == nil {
			return m, nil
		}
		amount, problem := m.bidF.amount(e.a.MinNextBid())
		m.bidF.problem = problem
		if problem != "" {
			return m, nil
		}
		m.bidF.pending, m.bidF.failed = true, ""
		return m, m.bidCmd(m.bidF.id, amount)
	}
	if m.bidF.pending {
		return m, nil
	}
	var cmd tea.Cmd
	m.bidF.input, cmd = m.bidF.input.Update(k)
	m.bidF.failed = ""
	if e != nil {
		m.bidF.validate(e.a.MinNextBid())
	}
	return m, cmd
}

func (m Model) keyOpen(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	f := &m.openF
	switch {
	case key.Matches(k, m.keys.Cancel):
		m.mode = modeBrowse
		return m, nil
	case key.Matches(k, m.keys.NextField):
		f.focusField(f.focus + 1)
		return m, nil
	case key.Matches(k, m.keys.PrevField):
		f.focusField(f.focus - 1)
		return m, nil
	case key.Matches(k, m.keys.Submit):
		if f.pending {
			return m, nil
		}
		f.tried = true
		item, price, d, ok := f.values()
		if !ok {
			return m, nil
		}
		f.pending, f.failed = true, ""
		return m, m.openCmd(item, price, d)
	}
	if f.pending {
		return m, nil
	}
	var cmd tea.Cmd
	f.inputs[f.focus], cmd = f.inputs[f.focus].Update(k)
	f.failed = ""
	f.values()
	return m, cmd
}

func (m Model) keyConfirm(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case m.confirm.pending:
		return m, nil
	case key.Matches(k, m.keys.Confirm):
		m.confirm.pending, m.confirm.failed = true, ""
		return m, m.closeCmd(m.confirm.id)
	case key.Matches(k, m.keys.Deny):
		m.mode = modeBrowse
	}
	return m, nil
}

// layout is the screen split: the heights of each region, in lines.
type layout struct {
	top      int // the auctions pane, or the details screen
	bottom   int // the bids and peers panes, or a form
	notes    int
	help     int
	listRows int // auction rows shown
	bidRows  int // bid lines shown
	peerRows int // peer lines shown
	peersW   int // width of the peers pane; the bids pane takes the rest but one separator column
}

// Layout limits.
const (
	minNotesTall   = 30 // from this height on, three notification lines are shown
	peersMinWidth  = 30 // the peers pane is at least this wide
	peersMaxWidth  = 52 // and at most this wide
	helpFullHeight = 6  // lines given to the full help
)

func (m *Model) layout() layout {
	var l layout
	l.help = 1
	if m.help.ShowAll {
		l.help = helpFullHeight
	}
	l.notes = 1
	if m.height >= minNotesTall {
		l.notes = 3
	}
	area := max(m.height-1-l.help-l.notes, 0) // 1: the status bar
	l.top = area * 11 / 21
	l.bottom = area - l.top
	l.listRows = max(l.top-2, 0)
	l.bidRows = max(l.bottom-1, 0)
	l.peerRows = l.bidRows
	l.peersW = max(peersMinWidth, min(m.width*2/5, peersMaxWidth))
	if m.details {
		l.bidRows = max(area-detailLines-1, 0)
	}
	return l
}

func (m *Model) relayout() {
	m.help.Width = m.width
	w := max(m.width-12, 10)
	m.filter.Width = max(min(m.width-40, MaxFilterInput/2), 8) // the title line holds it
	for i := range m.openF.inputs {
		m.openF.inputs[i].Width = max(min(w, 60)-10, 8)
	}
	m.auctions.scrollTo(m.layout().listRows)
}

// who names a bidder: "you" for this peer, else its name or short key.
func (m *Model) who(name string, k wire.PeerKey) string {
	if k == m.me {
		return "you"
	}
	return peerLabel(name, k)
}

func (m *Model) loc() *time.Location { return m.t.Location() }

// View draws the screen: exactly the model's height in lines, none wider than its width.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	lay := m.layout()
	var b strings.Builder
	b.Grow((m.width + 16) * m.height)
	w := m.width
	filterLine := ""
	if m.mode == modeFilter {
		filterLine = m.filter.View()
	}
	if m.details {
		m.detailsView(&b, lay)
	} else {
		m.auctions.view(&b, &m, w, lay.top, m.focus == paneAuctions && m.mode == modeBrowse, filterLine)
	}
	switch m.mode {
	case modeBid, modeOpen, modeConfirm:
		var form string
		fw := min(w, 78)
		switch m.mode {
		case modeBid:
			form = m.bidF.view(&m, fw)
		case modeOpen:
			form = m.openF.view(&m, fw)
		default:
			form = m.confirm.view(&m, fw)
		}
		writeBlock(&b, form, w, lay.bottom)
	default:
		if !m.details {
			m.bottomView(&b, lay)
		}
	}
	m.notes.view(&b, &m, w, lay.notes)
	statusView(&b, &m, w)
	m.help.Width = w
	writeBlock(&b, m.help.View(m.keys), w, lay.help)
	return clip(b.String(), m.height)
}

// bottomView draws the bids pane and the peers pane side by side.
func (m *Model) bottomView(b *strings.Builder, lay layout) {
	if lay.bottom <= 0 {
		return
	}
	bw := max(m.width-lay.peersW-1, 0)
	var left, right strings.Builder
	m.bids.view(&left, m, m.auctions.selected(), bw, lay.bottom, m.focus == paneBids && m.mode == modeBrowse)
	m.peers.view(&right, m, lay.peersW, lay.bottom, m.focus == panePeers && m.mode == modeBrowse)
	ls := strings.Split(strings.TrimSuffix(left.String(), "\n"), "\n")
	rs := strings.Split(strings.TrimSuffix(right.String(), "\n"), "\n")
	sep := m.st.Muted.Render("│")
	for i := 0; i < lay.bottom; i++ {
		l, r := "", ""
		if i < len(ls) {
			l = ls[i]
		}
		if i < len(rs) {
			r = rs[i]
		}
		b.WriteString(l)
		b.WriteString(sep)
		b.WriteString(r)
		b.WriteByte('\n')
	}
}

// detailLines is the height of the details block above the bid stream on the details screen.
const detailLines = 7

// detailsView draws the details screen of the selected auction: its fields, then its bid stream.
func (m *Model) detailsView(b *strings.Builder, lay layout) {
	st, w := m.st, m.width
	e := m.auctions.selected()
	area := lay.top + lay.bottom
	if m.mode == modeBid || m.mode == modeOpen || m.mode == modeConfirm {
		area = lay.top // the form takes the bottom
	}
	if e == nil {
		writeTitle(b, st, "Details", w, true)
		for i := 1; i < area; i++ {
			writeLine(b, fit("", w))
		}
		return
	}
	a := &e.a
	writeTitle(b, st, "Details · "+e.item+"   (esc back)", w, true)
	field := func(label, value string) string { return fit("  "+st.Label.Render(fit(label, 9))+value, w) }
	status := string(a.Status)
	if a.Status == auction.StatusOpen {
		if a.EndsAt.IsZero() {
			status += ", closed by hand"
		} else {
			status += ", ends in " + timeLeft(a, m.t) + " at " + clock(a.EndsAt, m.loc())
		}
	} else {
		status += " at " + clock(a.ClosedAt, m.loc())
	}
	high := "none · first bid at least " + usdt(a.Price)
	if h := a.Highest(); h != nil {
		high = usdt(h.Amount) + " by " + m.who(h.BidderName, h.Bidder) + " " + h.Bidder.Short() +
			" · next at least " + usdt(a.MinNextBid())
	}
	winner := "-"
	if a.Status == auction.StatusClosed {
		winner = "none"
		if a.Winner != nil {
			winner = m.who(a.Winner.BidderName, a.Winner.Bidder) + " " + a.Winner.Bidder.Short() + " for " + usdt(a.Winner.Amount)
		}
	}
	lines := []string{
		field("id", a.ID.String()),
		field("seller", e.seller+" "+a.Seller.String()),
		field("price", usdt(a.Price)+" · opened "+clock(a.OpenedAt, m.loc())),
		field("status", status),
		field("highest", high),
		field("winner", winner),
	}
	for i, l := range lines {
		if i+1 < area {
			writeLine(b, l)
		}
	}
	if rest := area - 1 - len(lines); rest > 0 {
		m.bids.view(b, m, e, w, rest, true)
	}
}

// writeBlock writes text as exactly height lines, each cut or padded to width cells.
func writeBlock(b *strings.Builder, text string, width, height int) {
	if height <= 0 {
		return
	}
	lines := strings.Split(text, "\n")
	pad := lipgloss.NewStyle().MaxWidth(width)
	for i := 0; i < height; i++ {
		if i < len(lines) {
			l := lines[i]
			if lipgloss.Width(l) > width {
				l = pad.Render(l)
			}
			b.WriteString(l)
		}
		b.WriteByte('\n')
	}
}

// clip keeps the first height lines of s and drops the final newline.
func clip(s string, height int) string {
	s = strings.TrimSuffix(s, "\n")
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			n++
			if n == height {
				return s[:i]
			}
		}
	}
	return s
}
