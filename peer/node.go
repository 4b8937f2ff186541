// Package peer is the auction-tui engine: it ties the QUIC RPC endpoint, the Kademlia DHT, the
// signed logs and the auction book into one Node, the API that the TUI and the headless mode use.
//
// A Node is a full peer. It writes exactly one log (its own), sequences the bids on its own
// auctions, replicates every other market peer's log after verifying it, and derives the state of
// every auction by replaying all logs through the auction book. Events (peers, auctions, bids,
// sync) reach the UI through Subscribe.
package peer

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/peer/dht"
	"github.com/auction-tui/auction-tui/peer/rpc"
	"github.com/auction-tui/auction-tui/storage"
	"github.com/auction-tui/auction-tui/wire"
)

// Errors of the Node API.
var (
	// ErrClosed reports a call on a Node that is closed.
	ErrClosed = errors.New("peer: node closed")
	// ErrBadInput reports a malformed argument; the error text says which.
	ErrBadInput = errors.New("peer: bad input")
	// ErrSellerBusy reports a bid the seller shed because too many were in flight; retry later.
	ErrSellerBusy = errors.New("peer: seller busy")
	// ErrSellerUnreachable reports a bid whose seller could not be reached in time.
	ErrSellerUnreachable = errors.New("peer: seller unreachable")
)

// RejectedError is a bid or close refused by the rules; Reason is user-facing.
type RejectedError struct {
	Reason string
	Err    error // the rule's sentinel when known (for example auction.ErrNotAboveHighest)
}

func (e *RejectedError) Error() string { return e.Reason }
func (e *RejectedError) Unwrap() error { return e.Err }

// Node is a running auction-tui peer. Its methods are safe for concurrent use.
type Node struct {
	cfg   config
	log   *slog.Logger
	store *storage.Store
	priv  ed25519.PrivateKey
	key   wire.PeerKey
	ep    *rpc.Endpoint
	dht   *dht.Node
	boot  *dht.Node // the default bootstrap, when this node serves it
	topic dht.Topic

	mu        sync.Mutex // guards book, applied, known, peers
	book      *auction.Book
	applied   map[wire.PeerKey]uint64 // entries of each log applied to the book
	known     map[wire.PeerKey]uint64 // longest signed head seen per log
	peers     map[wire.PeerKey]*peerState
	connected int                                // peers with connected set
	fetching  map[wire.PeerKey]chan wire.PeerKey // logs with a fetch running, and its nudge channel (see startFetch)
	busy      map[busyKey]bool                   // per-peer exchanges and reconciles running
	bidSlots  map[wire.PeerKey]int               // bids in flight at the sequencer, per bidder
	ownBids   map[wire.SignedBid]struct{}        // bids this node signed and has not seen in a log yet
	guards    map[wire.PeerKey]*callerGuard      // per-caller fetch budgets and penalties

	seq     chan *seqReq
	verifyq chan verifyReq // bids waiting for the seller's batched signature check

	recovered   chan struct{} // closed once the own log needs no recovery from peers
	recoverOnce sync.Once
	deadline    chan struct{} // pokes the auto-closer when own deadlines change
	events      *bus

	pushMu        sync.Mutex // guards recent, recentEntries, pushers
	recent        []ownBatch // recent own batches, in order, at most pushWindow entries
	recentEntries int
	pushers       map[wire.PeerKey]*pusher
	pushesSent    atomic.Uint64 // push messages sent (one per peer per coalesced range)

	// holdersMu guards holders apart from mu: every head of every exchange notes its sender,
	// and mu is the node's busiest lock.
	holdersMu  sync.Mutex
	holders    map[wire.PeerKey]*holderSet // per log: peers that showed a head of it (see noteHolder)
	hedgeWaits atomic.Uint64               // hedge checks of a slow fetch that found no other holder yet
	fetches    fetchCounts                 // fetch requests sent, by why

	headsMu   sync.Mutex
	headsView *headsView     // this node's heads, cached per generation (guarded by headsMu; see heads)
	exch      exchangeCounts // heads exchanges by how they went

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New starts a peer: it opens the data folder, listens, joins the DHT and the market, and returns
// once the node is serving. Close stops it.
func New(ctx context.Context, opts ...Option) (*Node, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.dataDir == "" {
		return nil, fmt.Errorf("%w: a data folder is required", ErrBadInput)
	}
	if len(cfg.name) > MaxNameLen {
		return nil, fmt.Errorf("%w: name is %d bytes, at most %d", ErrBadInput, len(cfg.name), MaxNameLen)
	}
	boots, err := parseBootstrap(cfg.bootstrap)
	if err != nil {
		return nil, err
	}
	st, err := storage.Open(cfg.dataDir, storage.WithLogger(cfg.logger))
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       cfg,
		log:       cfg.logger,
		store:     st,
		priv:      st.Identity(),
		book:      auction.NewBook(),
		applied:   make(map[wire.PeerKey]uint64),
		known:     make(map[wire.PeerKey]uint64),
		holders:   make(map[wire.PeerKey]*holderSet),
		peers:     make(map[wire.PeerKey]*peerState),
		fetching:  make(map[wire.PeerKey]chan wire.PeerKey),
		busy:      make(map[busyKey]bool),
		bidSlots:  make(map[wire.PeerKey]int),
		pushers:   make(map[wire.PeerKey]*pusher),
		ownBids:   make(map[wire.SignedBid]struct{}),
		guards:    make(map[wire.PeerKey]*callerGuard),
		seq:       make(chan *seqReq, MaxBatch),
		verifyq:   make(chan verifyReq, MaxBatch),
		recovered: make(chan struct{}),
		deadline:  make(chan struct{}, 1),
		events:    newBus(),
		topic:     dht.TopicOf(cfg.market),
	}
	n.key = wire.KeyOf(n.priv)
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.start(ctx, boots); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(ctx context.Context, boots []string) error {
	// Replay every log held into the book first, so that the node answers from its state at once.
	for _, k := range n.store.Logs() {
		n.applyNew(k, wire.Range{})
		n.mu.Lock()
		if l := n.store.Log(k).Len(); l > n.known[k] {
			n.known[k] = l
		}
		n.mu.Unlock()
	}
	rpcOpts := []rpc.Option{rpc.WithLogger(n.log), rpc.WithResolver(n.resolve), rpc.WithProbe(n.probe)}
	if n.cfg.wrapConn != nil {
		rpcOpts = append(rpcOpts, rpc.WithPacketConnWrapper(n.cfg.wrapConn))
	}
	ep, err := rpc.Listen(ctx, n.cfg.listen, n.priv, rpcOpts...)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", n.cfg.listen, err)
	}
	n.ep = ep
	ep.OnConnect(n.onConnect)
	ep.OnDisconnect(n.onDisconnect)
	ep.Respond(methodBid, n.handleBid)
	ep.Respond(methodPush, n.handlePush)
	ep.Respond(methodHeads, n.handleHeads)
	ep.Respond(methodDigest, n.handleDigest)
	ep.Respond(methodFetch, n.handleFetch)
	ep.Respond(methodAnnounce, n.handleAnnounce)

	n.wg.Add(3)
	go n.runVerifier()
	go n.runSequencer()
	go n.runAutoClose()

	if !n.store.LostOwnEntries() {
		n.ownLogChecked()
		if err := n.publishProfile(ctx); err != nil {
			return err
		}
		return n.startDHT(ctx, boots)
	}
	// The sequencer waits for peers (see waitOwnRecovery): the profile goes in the background.
	n.log.Warn("the own log lost entries it had signed; asking peers for them before appending")
	if err := n.startDHT(ctx, boots); err != nil {
		return err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.publishProfile(n.ctx); err != nil && n.ctx.Err() == nil {
			n.log.Warn("publish profile", "err", err)
		}
	}()
	return nil
}

// Close stops the node: the swarm, the DHT, the endpoint, the event stream and the store. It is
// safe to call more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		// Order matters: stop inbound calls (whose handlers may start goroutines), then wait for
		// every goroutine of the node (some call into the DHT), and only then close the DHT, the
		// event stream and the store they use.
		n.cancel()
		var errs []error
		if n.ep != nil {
			errs = append(errs, n.ep.Close())
		}
		n.wg.Wait()
		if n.dht != nil {
			errs = append(errs, n.dht.Close())
		}
		if n.boot != nil {
			errs = append(errs, n.boot.Close())
		}
		n.events.close()
		errs = append(errs, n.store.Close())
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// Key returns this peer's public key.
func (n *Node) Key() wire.PeerKey { return n.key }

// Name returns this peer's display name.
func (n *Node) Name() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.book.Name(n.key)
}

// Market returns the market joined.
func (n *Node) Market() string { return n.cfg.market }

// Addr returns the UDP address QUIC and the DHT listen on, as HOST:PORT.
func (n *Node) Addr() string { return n.advertised().String() }

// Subscribe returns every event from now on, in order. The channel is closed when ctx ends or
// the node closes.
func (n *Node) Subscribe(ctx context.Context) <-chan Event { return n.events.subscribe(ctx) }

// Auctions returns a snapshot of every auction known, oldest first.
func (n *Node) Auctions() []auction.Auction {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.book.Auctions()
}

// Auction returns the auction whose id starts with prefix (lowercase hex). It fails with
// auction.ErrNotFound or auction.ErrAmbiguous.
func (n *Node) Auction(prefix string) (auction.Auction, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.book.Find(prefix)
}

// Peers returns the market peers known, connected ones first, then by name.
func (n *Node) Peers() []PeerInfo {
	n.mu.Lock()
	out := make([]PeerInfo, 0, len(n.peers))
	for k, p := range n.peers {
		out = append(out, n.peerInfoLocked(k, p))
	}
	n.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Connected != out[j].Connected {
			return out[i].Connected
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return string(out[i].Key[:]) < string(out[j].Key[:])
	})
	return out
}

// Stats returns the node's network and sync state.
func (n *Node) Stats() Stats {
	s := Stats{}
	if n.dht != nil {
		s.DHTNodes = n.dht.Size()
	}
	if n.ep != nil {
		s.DialRestarts = n.ep.Stats().DialRestarts
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	s.Peers = len(n.peers)
	for _, p := range n.peers {
		if p.connected {
			s.Connected++
		}
	}
	s.Sync = n.syncLocked()
	s.DigestRetries = n.exch.retried.Load()
	s.Fetch = FetchStats{
		Requests: n.fetches.requests.Load(),
		Hedged:   n.fetches.hedged.Load(),
		Nudged:   n.fetches.nudged.Load(),
	}
	return s
}

func (n *Node) peerInfoLocked(k wire.PeerKey, p *peerState) PeerInfo {
	pi := PeerInfo{Key: k, Name: n.book.Name(k), Connected: p.connected, Equivocated: p.equivocated}
	if p.addr.IsValid() {
		pi.Addr = p.addr.String()
	}
	if p.connected && n.ep != nil {
		pi.RTT = n.ep.RTT(k)
	}
	pi.LogLength = n.store.Log(k).Len()
	return pi
}

func (n *Node) syncLocked() SyncProgress {
	var s SyncProgress
	for k, want := range n.known {
		if k == n.key {
			continue
		}
		s.Want += want
		s.Have += n.store.Log(k).Len()
	}
	return s
}

func (n *Node) now() time.Time { return n.cfg.now() }

func (n *Node) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = n.now()
	}
	n.events.publish(e)
}

// applyNew replays the entries of log k that the book has not seen yet, emitting an event per
// change. Entries are read, decoded and their bid signatures verified without holding n.mu; only
// the book update and the events happen under it. Entries of this node's own log are not
// verified again: the sequencer verified every bid before appending it. just holds entries
// just stored (possibly none): those are taken from it rather than read back from the store.
func (n *Node) applyNew(k wire.PeerKey, just wire.Range) {
	l := n.store.Log(k)
	for {
		n.mu.Lock()
		from := n.applied[k]
		n.mu.Unlock()
		to := min(l.Len(), from+storage.MaxRange)
		if from >= to {
			return
		}
		var entries [][]byte
		if from >= just.Start && from < just.End() {
			to = min(to, just.End())
			entries = just.Entries[from-just.Start : to-just.Start]
		} else {
			var err error
			if entries, err = l.Range(from, to); err != nil {
				n.log.Error("read log for replay", "log", k.Short(), "from", from, "err", err)
				return
			}
		}
		decoded := make([]wire.Entry, len(entries))
		var bids []wire.SignedBid
		var at []int
		for i, b := range entries {
			e, err := wire.UnmarshalEntry(b)
			if err != nil {
				// The entry is signed into the log, so it keeps its index; every peer ignores it.
				n.log.Warn("undecodable entry ignored", "log", k.Short(), "index", from+uint64(i), "err", err)
				continue
			}
			decoded[i] = e
			if ba, ok := e.Event.(*wire.BidAccepted); ok {
				bids = append(bids, ba.Bid)
				at = append(at, i)
			}
		}
		verified := make([]bool, len(decoded))
		if k == n.key {
			for _, i := range at {
				verified[i] = true
			}
		} else {
			// Bids this node signed itself need no check: an entry that holds exactly such a bid
			// holds a valid signature.
			bids, at = n.takeOwnBids(bids, at, verified)
			for j, ok := range verifyParallel(bids) {
				verified[at[j]] = ok
			}
		}
		n.mu.Lock()
		if n.applied[k] != from { // another goroutine applied this range meanwhile
			n.mu.Unlock()
			continue
		}
		n.applied[k] = to
		for i, res := range n.book.ApplyLogVerified(k, from, decoded, verified) {
			if res.Err != nil {
				if decoded[i].Event != nil {
					n.log.Warn("entry breaks a rule; ignored by every peer", "log", k.Short(), "index", from+uint64(i), "err", res.Err)
				}
				continue
			}
			n.emitChange(res.Change)
		}
		n.mu.Unlock()
	}
}

// maxOwnBids bounds the bids this node remembers having signed (see rememberOwnBid).
const maxOwnBids = 4096

// rememberOwnBid records a bid this node signed, so that its entry in the seller's log is not
// verified again when it arrives. Rejected bids never arrive: when the set is full it is emptied
// (such bids are then verified like any other).
func (n *Node) rememberOwnBid(sb wire.SignedBid) {
	n.mu.Lock()
	if len(n.ownBids) >= maxOwnBids {
		clear(n.ownBids)
	}
	n.ownBids[sb] = struct{}{}
	n.mu.Unlock()
}

// takeOwnBids marks as verified the bids (at their indexes at) that this node signed itself,
// forgets them, and returns the others to check.
func (n *Node) takeOwnBids(bids []wire.SignedBid, at []int, verified []bool) ([]wire.SignedBid, []int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.ownBids) == 0 {
		return bids, at
	}
	keep := 0
	for j, b := range bids {
		if _, ok := n.ownBids[b]; ok {
			delete(n.ownBids, b)
			verified[at[j]] = true
			continue
		}
		bids[keep], at[keep] = b, at[j]
		keep++
	}
	return bids[:keep], at[:keep]
}

// verifyParallel checks bid signatures in batches spread over the available cores.
func verifyParallel(bids []wire.SignedBid) []bool {
	workers := min(runtime.GOMAXPROCS(0), (len(bids)+wire.BidBatch-1)/wire.BidBatch)
	if workers <= 1 {
		return wire.VerifyBids(bids)
	}
	ok := make([]bool, len(bids))
	chunk := (len(bids) + workers - 1) / workers
	var wg sync.WaitGroup
	for start := 0; start < len(bids); start += chunk {
		end := min(start+chunk, len(bids))
		wg.Go(func() { copy(ok[start:end], wire.VerifyBids(bids[start:end])) })
	}
	wg.Wait()
	return ok
}

func (n *Node) emitChange(ch auction.Change) {
	switch ch.Kind {
	case auction.ChangeOpened:
		n.emit(Event{Kind: EventAuctionOpened, Auction: ch.Auction})
		n.pokeDeadline()
	case auction.ChangeBid:
		ev := Event{Kind: EventBidAccepted, Auction: ch.Auction}
		if ch.Bid != nil {
			ev.Bid = *ch.Bid
		}
		n.emit(ev)
		n.pokeDeadline()
	case auction.ChangeClosed:
		n.emit(Event{Kind: EventAuctionClosed, Auction: ch.Auction})
	}
}

func (n *Node) pokeDeadline() {
	select {
	case n.deadline <- struct{}{}:
	default:
	}
}
