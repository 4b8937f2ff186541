package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/auction-tui/auction-tui/assets"
	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/dht"
	"github.com/auction-tui/auction-tui/wire"
)

// demoActors are the simulated peers of the demo market.
var demoActors = []string{"Client#1", "Client#2", "Client#3"}

// runDemo starts an embedded local market (a bootstrap node and simulated peers that play the
// sample scenario and keep trading) and the TUI joined to it.
func runDemo(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	data := fs.String("data", "", "data folder for the demo's peers (default: a temporary folder, removed at exit)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "auction-tui-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	logger, closeLog, err := openLog(dir)
	if err != nil {
		return err
	}
	defer closeLog()
	market, err := startDemoMarket(ctx, dir, logger)
	if err != nil {
		return err
	}
	defer market.close()
	you, err := peer.New(ctx, peer.WithDataDir(filepath.Join(dir, "you")), peer.WithName("you"),
		peer.WithBootstrap(market.bootstrap), peer.WithMarket("demo"), peer.WithLogger(logger.With("peer", "you")))
	if err != nil {
		return err
	}
	defer you.Close()
	market.play(ctx, logger)
	return runProgram(ctx, you, logger)
}

// demoMarket is the embedded market: a bootstrap node and the simulated peers.
type demoMarket struct {
	boot      *dht.Node
	bootstrap string
	peers     map[string]*peer.Node
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func startDemoMarket(ctx context.Context, dir string, logger *slog.Logger) (*demoMarket, error) {
	boot, err := dht.ListenBootstrap("127.0.0.1:0", demoKey("bootstrap"), dht.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("demo bootstrap: %w", err)
	}
	addr, _ := boot.LocalAddr()
	m := &demoMarket{boot: boot, bootstrap: addr.String(), peers: make(map[string]*peer.Node)}
	for _, name := range demoActors {
		n, err := peer.New(ctx, peer.WithDataDir(filepath.Join(dir, strings.ReplaceAll(name, "#", ""))),
			peer.WithName(name), peer.WithBootstrap(m.bootstrap), peer.WithMarket("demo"),
			peer.WithLookupInterval(2*time.Second), peer.WithLogger(logger.With("peer", name)))
		if err != nil {
			m.close()
			return nil, fmt.Errorf("demo peer %s: %w", name, err)
		}
		m.peers[name] = n
	}
	return m, nil
}

func (m *demoMarket) close() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	for _, n := range m.peers {
		n.Close()
	}
	m.boot.Close()
}

// play runs the scripted scenario, then keeps trading at a human pace, until the market closes.
func (m *demoMarket) play(ctx context.Context, logger *slog.Logger) {
	ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ids := make(map[string]string)
		for _, line := range strings.Split(assets.DemoScript, "\n") {
			if err := m.step(ctx, line, ids); err != nil {
				if ctx.Err() != nil {
					return
				}
				logger.Warn("demo step", "line", line, "err", err)
			}
		}
		m.trade(ctx, logger)
	}()
}

// step runs one line of the demo script.
func (m *demoMarket) step(ctx context.Context, line string, ids map[string]string) error {
	f := strings.Fields(line)
	if len(f) == 0 || strings.HasPrefix(f[0], "#") {
		return nil
	}
	if f[0] == "wait" && len(f) == 2 {
		d, err := time.ParseDuration(f[1])
		if err != nil {
			return err
		}
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(f) < 3 {
		return fmt.Errorf("bad demo line %q", line)
	}
	n := m.peers[f[0]]
	if n == nil {
		return fmt.Errorf("unknown demo actor %q", f[0])
	}
	ref := func(s string) string {
		if id, ok := ids[strings.TrimPrefix(s, "@")]; ok {
			return id
		}
		return s
	}
	switch f[1] {
	case "open":
		price, err := wire.ParseAmount(f[3])
		if err != nil {
			return err
		}
		a, err := n.Open(ctx, f[2], price, 0)
		if err != nil {
			return err
		}
		ids[f[2]] = a.ID.String()
		return nil
	case "bid":
		amount, err := wire.ParseAmount(f[3])
		if err != nil {
			return err
		}
		return retryBid(ctx, n, ref(f[2]), amount)
	case "close":
		_, err := n.CloseAuction(ctx, ref(f[2]))
		return err
	}
	return fmt.Errorf("unknown demo command %q", f[1])
}

// retryBid bids, waiting for the auction to reach the bidder when it has not yet.
func retryBid(ctx context.Context, n *peer.Node, id string, amount wire.Amount) error {
	for range 50 {
		_, err := n.Bid(ctx, id, amount)
		if err == nil || !strings.Contains(err.Error(), "no auction") && !errors.Is(err, peer.ErrSellerUnreachable) {
			return err
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("auction %s never reached the bidder", id)
}

var demoItems = []string{"Pic#3", "Vase", "Vinyl", "Lamp", "Chair", "Stamp", "Clock", "Poster", "Kite", "Mug"}

// trade keeps the market alive: the simulated peers open, bid on and close auctions at random.
func (m *demoMarket) trade(ctx context.Context, logger *slog.Logger) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := 0; ; i++ {
		select {
		case <-time.After(time.Duration(1500+rng.IntN(2500)) * time.Millisecond):
		case <-ctx.Done():
			return
		}
		actor := demoActors[rng.IntN(len(demoActors))]
		n := m.peers[actor]
		var open, mine []string
		for _, a := range n.Auctions() {
			if a.Status != "open" {
				continue
			}
			if a.Seller == n.Key() {
				mine = append(mine, a.ID.String())
			} else {
				open = append(open, a.ID.String())
			}
		}
		var err error
		switch r := rng.IntN(10); {
		case r < 2 || len(open)+len(mine) < 2:
			item := demoItems[rng.IntN(len(demoItems))]
			price := wire.Amount((10 + rng.IntN(90)) * wire.MicroPerUSDt)
			var d time.Duration
			if rng.IntN(2) == 0 {
				d = time.Duration(45+rng.IntN(60)) * time.Second
			}
			_, err = n.Open(ctx, item, price, d)
		case r < 9 && len(open) > 0:
			id := open[rng.IntN(len(open))]
			a, aerr := n.Auction(id)
			if aerr != nil {
				continue
			}
			// Whole or half USDt steps above the highest bid, or the start price or a little more.
			amount := a.Price + wire.Amount(rng.IntN(3)*wire.MicroPerUSDt/2)
			if h := a.Highest(); h != nil {
				amount = h.Amount + wire.Amount((1+rng.IntN(4))*wire.MicroPerUSDt/2)
			}
			_, err = n.Bid(ctx, id, amount)
		case len(mine) > 0:
			_, err = n.CloseAuction(ctx, mine[rng.IntN(len(mine))])
		}
		if err != nil && ctx.Err() == nil {
			logger.Info("demo trade", "actor", actor, "err", err)
		}
	}
}

// demoKey derives a fixed key for a demo part from its name.
func demoKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("auction-tui/demo/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}
