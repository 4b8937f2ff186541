// Package tui is auction-tui's terminal dashboard: a bubbletea program that talks to the peer
// engine only through the Engine interface (which *peer.Node satisfies) and its event stream.
//
// # Panes
//
// The screen, from top to bottom:
//
//   - Auctions: every auction known, open ones first, newest first. Columns: item, seller ("you"
//     for your own), start price, highest bid, number of bids, status and time left ("4m05s",
//     "1h02m", "2d01h"; "-" for an auction closed by hand; "due" once its deadline passed and the
//     seller's close has not arrived yet). The selected row starts with ">". An auction that
//     closes flashes for FlashDuration: its row starts with "!" and its status reads "CLOSED".
//   - Bids (bottom left): the live bid stream of the selected auction, newest at the bottom,
//     with time accepted, bidder, bidder key and amount; the highest is marked "top", the winner
//     "won". It follows new bids unless scrolled back.
//   - Peers (bottom right): each market peer's name, short key, state ("up", "down", or "BAD"
//     for a peer that signed two conflicting heads), round trip and log length held.
//   - Notifications: outbid, you won, sold, closed, your accepted bids and opens, and errors.
//     Only recent bids and closes are notified one by one (see "Catching up" below).
//   - Status bar: your name and short key, market, DHT size, peers connected/known, sync
//     progress, and the time.
//   - Help: one line of keys; "?" shows them all.
//
// The enter key replaces the auctions and the bottom panes with the selected auction's details
// (full id, seller key, status and deadline, highest bid and the next minimum, winner) above its
// full-width bid stream. The bid, open and close forms show in place of the bottom panes.
//
// # Keys
//
//	↑/k ↓/j        select an auction; in the bids pane scroll; in the peers pane select
//	pgup pgdn      page up and down
//	enter          show or hide the selected auction's details (esc also hides them)
//	b              bid on the selected auction: the amount input starts empty, showing the
//	               minimum valid amount as its placeholder and in the form's title; what you
//	               type is checked as you type; enter sends (on the empty input it bids the
//	               minimum shown), esc cancels; a rejection shows the seller's reason and
//	               keeps the form open
//	o              open an auction: item, tab, price, tab, optional duration (90s, 5m, 1h30m;
//	               empty: closed by hand), enter
//	c              close the selected auction of your own, after y/n confirmation
//	/              filter by item, seller name or seller key (case-insensitive substring);
//	               enter keeps the filter, esc clears it
//	tab            focus the next pane (auctions, bids, peers); the focused title starts "▸"
//	?              full help
//	q, ctrl+c      quit; inside forms only ctrl+c quits, so q can be typed
//
// # Behaviour
//
// Update never blocks: Open, Bid and CloseAuction run in tea.Cmds bounded by
// EngineCallTimeout, and so do the Auctions, Peers and Stats snapshots. Engine events arrive
// through a command that blocks for one event and takes the ones already waiting (up to
// MaxEventBatch), re-armed after each delivery. Events update the auction in place and mark the
// list dirty; the list is re-sorted and re-filtered at most once per RefreshInterval. View draws
// only the rows and bids on screen, so its cost does not grow with the number of auctions or
// bids. Time-left counters and the peers and stats snapshots refresh every ClockInterval, and
// the whole auctions snapshot every ResyncInterval as a safety net; an older snapshot never winds
// an auction back (states only move forward: more bids, open to closed).
//
// # Catching up
//
// The engine replays the logs it holds before the TUI subscribes, so that history raises no
// events; but a restarted or late peer then catches up from the others, and every entry it
// fetches is an event like a live one. A bid or close whose seller wrote it more than
// NotifyWindow before this screen's clock (Bid.AcceptedAt, Auction.ClosedAt) is such history: it
// updates the list at once but raises no "outbid", "you won", "sold" or "closed" line of its own
// and does not flash; one "caught up on older history: you won 1, sold 2, outbid on 1, 4 other
// auctions closed" line counts them instead, updated in place while it is the newest line. The
// rule needs no notion of "initial sync" (a peer may catch up at any time, after a partition as
// well as at start), at the cost of depending on clocks: a seller whose clock runs more than
// NotifyWindow behind this one has its live events summarised rather than notified.
//
// Text from other peers (items, names) is cleaned of control characters and bidirectional
// overrides before it reaches the terminal. Every state shown with colour is also spelled out in
// text, so the screen reads the same with NO_COLOR, which lipgloss honours by dropping all
// styling. Errors are shown on screen and never end the program.
//
// # Running it
//
//	m := tui.New(node, tui.WithContext(ctx))
//	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithoutSignalHandler())
//	stop := context.AfterFunc(ctx, p.Quit) // ctx from signal.NotifyContext(SIGINT, SIGTERM)
//	_, err := p.Run()
//	stop()
//	node.Close()
//
// The program quits on q or ctrl+c; the caller then closes the engine. Logs must go to a file,
// never to the screen (see WithLogger). Let one party handle signals and end the program with
// Quit: with bubbletea v1.3, its own signal handler next to signal.NotifyContext can block Run
// forever, and a program killed through tea.WithContext closes its input reader under its read
// loop (a data race).
package tui
