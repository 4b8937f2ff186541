// Command auction-tui is a peer-to-peer auction house in the terminal. Every running auction-tui is
// a full peer: it opens auctions, bids on other peers' auctions, closes its own, and sees every
// opening, bid and close from every peer live. A bootstrap node only introduces peers.
//
// Usage:
//
//	auction-tui [flags]              the TUI peer (default mode)
//	auction-tui headless [flags]     a peer without TUI: commands on stdin, NDJSON on stdout
//	auction-tui bootstrap --listen HOST:PORT
//	                                 a DHT bootstrap node
//	auction-tui demo [--data DIR]    the TUI joined to an embedded local market
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/auction-tui/auction-tui/peer"
)

// exitUsage is the exit status for bad flags or arguments.
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	mode := "tui"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch mode {
	case "tui":
		err = runTUI(ctx, args, stderr)
	case "headless":
		err = runHeadless(ctx, args, stdin, stdout, stderr)
	case "bootstrap":
		err = runBootstrap(ctx, args, stdout, stderr)
	case "demo":
		err = runDemo(ctx, args, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "auction-tui: unknown mode %q\n%s", mode, usage)
		return exitUsage
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "auction-tui %s: %v\n", mode, err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "auction-tui %s: %v\n", mode, err)
		return 1
	}
}

const usage = `usage:
  auction-tui [flags]              the TUI peer (default mode)
  auction-tui headless [flags]     a peer without TUI: commands on stdin, NDJSON on stdout
  auction-tui bootstrap --listen HOST:PORT
                                   a DHT bootstrap node
  auction-tui demo [--data DIR]    the TUI joined to an embedded local market

peer flags:
  --data DIR            data folder (default: a per-user data folder)
  --name NAME           display name, published in the peer's log
  --listen HOST:PORT    UDP address for QUIC and the DHT (default 0.0.0.0:0)
  --bootstrap HOST:PORT bootstrap node, repeatable or comma-separated (default 127.0.0.1:30001,
                        served by this peer itself when nobody holds it)
  --market NAME         market to join (default main)
`

// errUsage marks bad command-line input.
var errUsage = errors.New("usage")

// listFlag is a repeatable, comma-separable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// peerFlags are the flags every peer mode takes.
type peerFlags struct {
	data      string
	name      string
	listen    string
	bootstrap listFlag
	market    string
}

func (pf *peerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.data, "data", "", "data folder (default: a per-user data folder)")
	fs.StringVar(&pf.name, "name", "", "display name, published in the peer's log")
	fs.StringVar(&pf.listen, "listen", "0.0.0.0:0", "UDP address for QUIC and the DHT")
	fs.Var(&pf.bootstrap, "bootstrap", "bootstrap HOST:PORT, repeatable or comma-separated")
	fs.StringVar(&pf.market, "market", peer.DefaultMarket, "market to join")
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// dataDir returns the folder to use: the flag's, or the per-user default.
func (pf *peerFlags) dataDir() (string, error) {
	if pf.data != "" {
		return pf.data, nil
	}
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no --data given and no home folder: %w", err)
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "auction-tui"), nil
}

// options turns the flags into engine options, with logs going to a file in the data folder.
func (pf *peerFlags) options(dir string, logger *slog.Logger) []peer.Option {
	opts := []peer.Option{
		peer.WithDataDir(dir), peer.WithName(pf.name), peer.WithListen(pf.listen),
		peer.WithMarket(pf.market), peer.WithLogger(logger),
	}
	if len(pf.bootstrap) > 0 {
		opts = append(opts, peer.WithBootstrap(pf.bootstrap...))
	}
	return opts
}

// openLog opens the log file in the data folder. Logs never go to stdout or the screen.
func openLog(dir string) (*slog.Logger, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "auction-tui.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file: %w", err)
	}
	level := slog.LevelInfo
	if os.Getenv("AUCTION_TUI_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level})), func() { f.Close() }, nil
}

// withPeer parses the peer flags of a mode, opens the log file in the data folder, starts a peer
// and runs fn with it; the peer and the log are closed when fn returns.
func withPeer(ctx context.Context, mode string, args []string, stderr io.Writer, fn func(*peer.Node, *slog.Logger) error) error {
	var pf peerFlags
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	pf.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	dir, err := pf.dataDir()
	if err != nil {
		return err
	}
	logger, closeLog, err := openLog(dir)
	if err != nil {
		return err
	}
	defer closeLog()
	node, err := peer.New(ctx, pf.options(dir, logger)...)
	if err != nil {
		return err
	}
	defer node.Close()
	return fn(node, logger)
}
