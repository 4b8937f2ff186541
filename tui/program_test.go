package tui

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
)

// TestProgramLifecycle runs the model in a real bubbletea program: the first snapshot shows, a
// live event reaches the screen, q quits, and the event subscription's goroutine ends.
func TestProgramLifecycle(t *testing.T) {
	f, _ := newFixture(t, 80, 24)
	m := New(f, WithClock(fixedClock))
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	waitOutput(t, tm, "Pic#1")
	_, outbid := bidEvent(pic1, carol, "85")
	f.events <- outbid
	waitOutput(t, tm, "outbid on Pic#1")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	// Every copy of the model shares its context: quitting must have cancelled it. (teatest's
	// FinalModel can return before the final model is handed over, so it is not used here.)
	if m.ctx.Err() == nil {
		t.Error("the model's subscription is still live after quitting")
	}
	// os/signal's loop and teatest's signal watcher outlive every program; what must end are the
	// model's goroutines (the event wait, engine calls, ticks) and bubbletea's.
	deadline := time.Now().Add(10 * time.Second)
	for len(ours()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling: a goroutine's end sends no event to wait on
	}
	for _, g := range ours() {
		t.Errorf("goroutine still running after quitting:\n%s", g)
	}
}

// ours returns the stacks of live goroutines running this package's code (other than tests) or
// bubbletea's.
func ours() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "tui.Test") || strings.Contains(g, "teatest.") {
			continue
		}
		if strings.Contains(g, "auction-tui/tui.") || strings.Contains(g, "charmbracelet/bubbletea.") {
			out = append(out, g)
		}
	}
	return out
}

func waitOutput(t *testing.T, tm *teatest.TestModel, s string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}
