package tui

import (
	"context"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
)

// Engine is everything the TUI needs from the peer engine. *peer.Node satisfies it; tests use a
// small in-memory engine. The TUI never calls Open, Bid or CloseAuction on the bubbletea update
// path: those run inside tea.Cmds, bounded by EngineCallTimeout. Auctions, Peers and Stats are
// snapshots and are also only called inside tea.Cmds.
type Engine interface {
	// Key returns this peer's public key.
	Key() wire.PeerKey
	// Name returns this peer's display name.
	Name() string
	// Market returns the name of the market this peer joined.
	Market() string
	// Open opens an auction sold by this peer. d is its duration, or 0 for an auction closed by hand.
	Open(ctx context.Context, item string, price wire.Amount, d time.Duration) (auction.Auction, error)
	// Bid sends a signed bid to the auction's seller and returns once the seller accepted it. The
	// error carries the seller's rejection reason. auctionID is the full hex id.
	Bid(ctx context.Context, auctionID string, amount wire.Amount) (auction.Bid, error) // auctionID: full hex id
	// CloseAuction closes an auction sold by this peer. auctionID is the full hex id.
	CloseAuction(ctx context.Context, auctionID string) (auction.Auction, error)
	// Auctions returns a snapshot of every auction known.
	Auctions() []auction.Auction // snapshot, every auction known
	// Peers returns a snapshot of the market peers known.
	Peers() []peer.PeerInfo
	// Stats returns a snapshot of the node's network state.
	Stats() peer.Stats
	// Subscribe returns the engine's event stream, closed when ctx ends or the engine stops.
	Subscribe(ctx context.Context) <-chan peer.Event // closed when ctx ends or the engine stops
}
