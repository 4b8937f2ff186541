//go:build tools

// Package main pins the project's dependency versions while packages that use them are written.
package main

import (
	_ "github.com/charmbracelet/bubbles/key"
	_ "github.com/charmbracelet/bubbletea"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/charmbracelet/x/exp/teatest"
	_ "github.com/nutsdb/nutsdb"
	_ "github.com/quic-go/quic-go"
	_ "github.com/transparency-dev/merkle"
	_ "golang.org/x/sys/unix"
)
