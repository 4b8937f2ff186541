// Package assets holds the files embedded in the auction-tui binary: the demo market script and
// the logo.
package assets

import _ "embed"

// DemoScript is the demo market's opening scenario: one step a line, "<actor> <command> [args]"
// with the headless commands open, bid and close, or "wait <duration>". Bids and closes name an
// auction by the item the scenario opened it with, prefixed by '@'.
//
//go:embed demo.script
var DemoScript string

// Logo is the banner shown while the TUI connects.
//
//go:embed logo.txt
var Logo string
