package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/tui"
)

// runTUI runs the default mode: a peer with the terminal dashboard.
func runTUI(ctx context.Context, args []string, stderr io.Writer) error {
	return withPeer(ctx, "auction-tui", args, stderr, func(node *peer.Node, logger *slog.Logger) error {
		return runProgram(ctx, node, logger)
	})
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
