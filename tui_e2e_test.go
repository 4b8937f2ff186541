package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test in this file drives the TUI in a real terminal: tmux runs the auction-tui binary in a
// detached 120x36 session, the test types into it with `tmux send-keys` and reads the screen with
// `tmux capture-pane -p`. A headless peer, a separate process, plays the other side through the
// NDJSON contract (the helpers of e2e_test.go).

// Limits of the terminal test.
const (
	// tmuxWait bounds each wait for text on the terminal.
	tmuxWait = 20 * time.Second
	// tmuxPoll is how often the screen is re-read while waiting for a condition on it.
	tmuxPoll = 25 * time.Millisecond
	// tmuxCols and tmuxRows are the terminal size, in cells.
	tmuxCols, tmuxRows = 120, 36
)

// term is one tmux server (its own socket) running one session.
type term struct {
	t      *testing.T
	socket string
	target string
	last   string // the latest capture, for failure messages
}

// needTmux returns the path of tmux. Without tmux the test is skipped on a developer machine and
// fails in CI (env CI set), where .ci/run installs it.
func needTmux(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("tmux")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("tmux is required in CI (CI=%s) and is not installed: %v", os.Getenv("CI"), err)
	}
	t.Skip("tmux is not installed; the terminal test needs it (CI installs it)")
	return ""
}

// startTerm starts a detached tmux session running command (a shell command line) and kills the
// tmux server at cleanup.
func startTerm(t *testing.T, command string) *term {
	t.Helper()
	needTmux(t)
	tm := &term{t: t, socket: fmt.Sprintf("auction-tui-e2e-%d-%d", os.Getpid(), time.Now().UnixNano()), target: "tui"}
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	tm.run("-f", "/dev/null", "new-session", "-d", "-s", tm.target,
		"-x", strconv.Itoa(tmuxCols), "-y", strconv.Itoa(tmuxRows), command)
	return tm
}

// run runs a tmux command on this server and returns its output.
func (tm *term) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// capture returns the visible screen as text, or "" once the session is gone.
func (tm *term) capture() string {
	out, err := exec.Command("tmux", "-L", tm.socket, "capture-pane", "-p", "-t", tm.target).Output()
	if err != nil {
		return ""
	}
	tm.last = string(out)
	return tm.last
}

// wait polls the screen until re matches it, failing after tmuxWait, and returns the match.
func (tm *term) wait(re string) string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(tmuxWait)
	for {
		if m := rx.FindString(tm.capture()); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the terminal never showed %q within %s; last screen:\n%s", re, tmuxWait, tm.last)
		}
		time.Sleep(tmuxPoll) // polling a condition with a deadline: the terminal sends no event
	}
}

// keys sends tmux key names (Enter, Tab, Escape) or, with literal, text as typed.
func (tm *term) keys(literal bool, keys ...string) {
	tm.t.Helper()
	args := []string{"send-keys", "-t", tm.target}
	if literal {
		args = append(args, "-l")
	}
	tm.run(append(args, keys...)...)
}

// typeSlowly types text one key at a time, waiting for the screen to show the text typed so far
// after prompt: Bubble Tea v1 reads keys in chunks, and runes arriving in one read would be
// delivered as one key message.
func (tm *term) typeSlowly(prompt, text string) {
	tm.t.Helper()
	for i, r := range text {
		tm.keys(true, string(r))
		tm.wait(regexp.QuoteMeta(prompt + text[:i+len(string(r))]))
	}
}

// TestTUIInTmux: a TUI peer (in tmux) and a headless peer (a pipe) as separate processes. The
// headless peer opens an auction; the TUI shows it; the TUI's user bids with the keys of the
// design; the headless peer sees the bid accepted and closes the auction; the TUI shows the
// close and the win; q quits the TUI with status 0.
func TestTUIInTmux(t *testing.T) {
	needTmux(t)
	bin := binary(t)
	boot := startBootstrap(t)
	dir := t.TempDir()
	seller := startPeer(t, "seller", filepath.Join(dir, "seller"), boot)

	data := filepath.Join(dir, "tui")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	status, stderr := filepath.Join(dir, "tui.status"), filepath.Join(dir, "tui.stderr")
	// The shell records the exit status in a file, so that the test reads it after the session
	// closes; stderr goes to a file, so that a crash report is kept.
	cmd := fmt.Sprintf("env TERM=xterm-256color NO_COLOR=1 %s --data %s --name tui --bootstrap %s "+
		"--listen 127.0.0.1:0 --market e2e 2>%s; echo $? >%s.tmp && mv %s.tmp %s",
		shellQuote(bin), shellQuote(data), boot, shellQuote(stderr), shellQuote(status), shellQuote(status), shellQuote(status))
	tm := startTerm(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(stderr)
			t.Logf("TUI stderr:\n%s", b)
		}
	})
	tm.wait(`tui [0-9a-f]{8} │ market e2e`)

	id := seller.must(`open "Pic#1" 75`)["auction"].(string)
	short := id[:8]
	// The only auction, so selected: its row starts with ">".
	tm.wait(`> Pic#1 +seller +75 USDt +- +0 open`)

	tm.keys(true, "b")
	tm.wait(`Bid on Pic#1 \(` + short + `\) · minimum 75 USDt`)
	tm.wait(`amount at least 75 USDt`)
	tm.typeSlowly("amount ", "80")
	tm.keys(false, "Enter")
	ev := seller.await(func(m map[string]any) bool {
		return m["event"] == "bid_accepted" && m["auction"] == id
	}, tmuxWait, "bid_accepted event for Pic#1")
	if ev["amount"] != "80" || ev["bidder_name"] != "tui" {
		t.Fatalf("bid_accepted %v, want 80 from tui", ev)
	}
	tm.wait(`your bid of 80 USDt on Pic#1 was accepted`)

	closed := seller.must("close " + id)
	if w, _ := closed["winner"].(map[string]any); w == nil || w["amount"] != "80" || w["bidder_name"] != "tui" {
		t.Fatalf("close winner %v, want tui at 80", closed["winner"])
	}
	tm.wait(`you won Pic#1 for 80 USDt from seller`)
	tm.wait(`Pic#1 +seller +75 USDt +80 USDt +1 (CLOSED|closed)`)

	tm.keys(true, "q")
	code := waitFile(t, status)
	if code != "0" {
		b, _ := os.ReadFile(stderr)
		t.Fatalf("the TUI exited with status %s after q; stderr:\n%s", code, b)
	}
	if b, _ := os.ReadFile(stderr); len(b) > 0 {
		t.Errorf("the TUI wrote to stderr (logs belong in the data folder):\n%s", b)
	}
	seller.must("quit")
	if err := seller.cmd.Wait(); err != nil {
		t.Fatalf("seller: exit after quit: %v", err)
	}
}

// TestTUIExitsOnSIGTERM: `kill <pid>` (SIGTERM) ends the TUI with status 0 right after its first
// frame, five times over. Two bubbletea v1 problems break this when runProgram uses
// tea.WithContext and bubbletea's own signal handler: the handler races main's
// signal.NotifyContext, and when the context ends the event loop first, the handler blocks forever
// sending QuitMsg so Program.Run never returns (4 hangs in 10); and a program killed through its
// context closes its input reader while the read loop still uses it (a data race: exit status
// 66 under -race).
func TestTUIExitsOnSIGTERM(t *testing.T) {
	needTmux(t)
	bin := binary(t)
	boot := startBootstrap(t)
	for i := range 5 {
		dir := t.TempDir()
		status := filepath.Join(dir, "status")
		cmd := fmt.Sprintf("%s --data %s --name sig --bootstrap %s --listen 127.0.0.1:0 --market sig 2>%s; "+
			"echo $? >%s.tmp && mv %s.tmp %s", shellQuote(bin), shellQuote(filepath.Join(dir, "data")), boot,
			shellQuote(filepath.Join(dir, "stderr")), shellQuote(status), shellQuote(status), shellQuote(status))
		tm := startTerm(t, "env TERM=xterm-256color NO_COLOR=1 "+cmd)
		tm.wait(`sig [0-9a-f]{8} │ market sig`)
		shell, err := strconv.Atoi(strings.TrimSpace(tm.run("display-message", "-p", "-t", tm.target, "#{pane_pid}")))
		if err != nil {
			t.Fatal(err)
		}
		pid := childOf(t, shell)
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if b, err := os.ReadFile(status); err == nil {
				if code := strings.TrimSpace(string(b)); code != "0" {
					eb, _ := os.ReadFile(filepath.Join(dir, "stderr"))
					t.Fatalf("run %d: exit status %s after SIGTERM; stderr:\n%s", i, code, eb)
				}
				break
			}
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("run %d: the TUI still runs 10s after SIGTERM", i)
			}
			time.Sleep(tmuxPoll) // polling a condition with a deadline: another process writes it
		}
	}
}

// childOf returns the pid of the one child process of parent (Linux /proc).
func childOf(t *testing.T, parent int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", parent, parent))
	if err != nil {
		t.Fatalf("children of %d: %v", parent, err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("process %d has children %q, want one", parent, f)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// waitFile polls until path exists and returns its content, trimmed; it fails after tmuxWait.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(tmuxWait)
	for {
		if b, err := os.ReadFile(path); err == nil {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %s", path, tmuxWait)
		}
		time.Sleep(tmuxPoll) // polling a condition with a deadline: another process writes it
	}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
