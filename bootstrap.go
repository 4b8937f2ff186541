package main

import (
	"context"
	"crypto/ed25519"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/auction-tui/auction-tui/peer/dht"
)

// runBootstrap runs a DHT-only node at a fixed address until ctx ends (SIGINT or SIGTERM).
func runBootstrap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	listen := fs.String("listen", "", "UDP HOST:PORT to listen on (required)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *listen == "" {
		return fmt.Errorf("%w: --listen HOST:PORT is required", errUsage)
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return fmt.Errorf("%w: --listen %q is not HOST:PORT", errUsage, *listen)
	}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	node, err := dht.ListenBootstrap(*listen, priv, dht.WithLogger(logger))
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	addr, _ := node.LocalAddr()
	fmt.Fprintf(stdout, "bootstrap node listening on %s\n", addr)
	<-ctx.Done()
	return node.Close()
}
