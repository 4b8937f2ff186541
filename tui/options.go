package tui

import (
	"context"
	"log/slog"
	"time"
)

// Timing and size limits of the TUI.
const (
	// RefreshInterval is the longest the auctions list waits before re-sorting and re-filtering
	// after engine events: events only mark the list dirty, and one flush per interval rebuilds it.
	RefreshInterval = 100 * time.Millisecond
	// ClockInterval is how often time-left counters, flashes and the peers and stats snapshots
	// are refreshed.
	ClockInterval = time.Second
	// ResyncInterval is how often the whole auctions snapshot is re-read from the engine as a
	// safety net next to the event stream.
	ResyncInterval = 10 * time.Second
	// FlashDuration is how long a closed auction stays highlighted in the list.
	FlashDuration = 2 * time.Second
	// EngineCallTimeout bounds each Open, Bid and CloseAuction call made by the TUI.
	EngineCallTimeout = 15 * time.Second
	// MaxEventBatch is the most engine events delivered to Update in one message: the event
	// command blocks for one event, then takes whatever else is already waiting, up to this many.
	MaxEventBatch = 256
	// NotifyWindow is how recent a bid or a close must be, by the time its seller wrote it
	// (Bid.AcceptedAt, Auction.ClosedAt) against this screen's clock, to raise its own "outbid",
	// "you won", "sold" or "closed" notification. Older ones are history caught up from peers
	// (after a restart or a late join): they update the list and are counted in one "caught up"
	// notification instead. Clocks of peers further apart than this make live events count as
	// caught up; they are never lost, only summarised.
	NotifyWindow = time.Minute
	// MaxNotifications is how many notifications are kept; older ones are dropped.
	MaxNotifications = 50
	// MaxItemInput is the longest item name the open form accepts, in characters.
	MaxItemInput = 128
	// MaxFilterInput is the longest filter the filter input accepts, in characters.
	MaxFilterInput = 64
	// DefaultWidth and DefaultHeight are the screen size assumed until the first
	// tea.WindowSizeMsg arrives, in cells.
	DefaultWidth, DefaultHeight = 80, 24
)

// Option configures a Model built by New.
type Option func(*config)

type config struct {
	keys   KeyMap
	styles *Styles
	clock  func() time.Time
	width  int
	height int
	ctx    context.Context
	log    *slog.Logger
}

// WithKeyMap sets the key bindings. The default is DefaultKeyMap().
func WithKeyMap(k KeyMap) Option { return func(c *config) { c.keys = k } }

// WithStyles sets the styles. The default is DefaultStyles().
func WithStyles(s Styles) Option { return func(c *config) { c.styles = &s } }

// WithClock sets the clock used for time-left counters, notification times and flashes; times
// are shown in the location of the times it returns. The default is time.Now. Tests pass a fixed
// clock so that views are reproducible.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithSize sets the screen size, in cells, used until the first tea.WindowSizeMsg. The default
// is DefaultWidth x DefaultHeight.
func WithSize(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// WithContext sets the parent context of the event subscription and of engine calls. The
// subscription ends when this context ends, when the model quits, or when the engine stops.
// The default is context.Background().
func WithContext(ctx context.Context) Option { return func(c *config) { c.ctx = ctx } }

// WithLogger sets the logger for engine errors and dropped input. The default discards. The TUI
// never writes logs to the screen.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }
