package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/tui"
)

// runTUI runs the default mode: a peer with the terminal dashboard.
func runTUI(ctx context.Context, args []string, stderr io.Writer) error {
	var pf peerFlags
	fs := flag.NewFlagSet("auction-tui", flag.ContinueOnError)
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
	return runProgram(ctx, node, logger)
}

// The engine satisfies the TUI's view of it.
var _ tui.Engine = (*peer.Node)(nil)

// runProgram runs the dashboard on the terminal until the user quits or ctx ends.
func runProgram(ctx context.Context, node *peer.Node, logger *slog.Logger) error {
	m := tui.New(node, tui.WithContext(ctx), tui.WithLogger(logger))
	// Bubble Tea's own signal handler would race main's signal.NotifyContext, and killing the
	// program through tea.WithContext races inside Bubble Tea: quit it like a keypress instead.
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithoutSignalHandler())
	stop := context.AfterFunc(ctx, p.Quit)
	defer stop()
	if _, err := p.Run(); err != nil && ctx.Err() == nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}
