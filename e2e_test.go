package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run the real auction-tui binary as separate OS processes: a bootstrap
// node and headless peers talking over loopback, driven through the headless NDJSON contract.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binaries the tests and benchmarks built.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range []string{binPath, benchBinPath} {
		if p != "" {
			os.RemoveAll(filepath.Dir(p))
		}
	}
	os.Exit(code)
}

// binary builds auction-tui once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "auction-tui-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "auction-tui")
		out, err := exec.Command("go", "build", "-race", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startBootstrap runs a bootstrap node on a free loopback port and returns its address.
func startBootstrap(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(binary(t), "bootstrap", "--listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		m := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(l)
		if m == "" {
			t.Fatalf("bootstrap line %q names no address", l)
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("bootstrap printed no line within 20s")
	}
	return ""
}

// proc is one headless peer process.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan map[string]any
	ready map[string]any
	mu    sync.Mutex
	seen  []map[string]any // every line, for event checks
}

func startPeer(t *testing.T, name, data, boot string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), "headless", "--name", name, "--data", data, "--bootstrap", boot,
		"--listen", "127.0.0.1:0", "--market", "e2e")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, cmd: cmd, stdin: stdin, lines: make(chan map[string]any, 1024)}
	go func() {
		defer close(p.lines)
		s := bufio.NewScanner(stdout)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			var m map[string]any
			if err := json.Unmarshal(s.Bytes(), &m); err != nil {
				p.lines <- map[string]any{"bad_line": s.Text()}
				continue
			}
			p.lines <- m
		}
	}()
	t.Cleanup(func() { p.kill() })
	p.ready = p.await(func(m map[string]any) bool { return m["event"] == "ready" }, 30*time.Second, "ready line")
	return p
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	}
}

// await returns the first line (from now on) matching ok, failing the test after d.
func (p *proc) await(ok func(map[string]any) bool, d time.Duration, what string) map[string]any {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m, open := <-p.lines:
			if !open {
				p.t.Fatalf("%s: output ended while waiting for %s", p.name, what)
			}
			if bad, isBad := m["bad_line"]; isBad {
				p.t.Fatalf("%s: stdout line is not JSON: %q", p.name, bad)
			}
			p.mu.Lock()
			p.seen = append(p.seen, m)
			p.mu.Unlock()
			if ok(m) {
				return m
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s within %s", p.name, what, d)
		}
	}
}

// waitLine waits up to d for any line (typically an event) and records it; it reports whether
// one came. It paces retries on events rather than on sleeps.
func (p *proc) waitLine(d time.Duration) bool {
	select {
	case m, open := <-p.lines:
		if !open {
			p.t.Fatalf("%s: output ended", p.name)
		}
		p.mu.Lock()
		p.seen = append(p.seen, m)
		p.mu.Unlock()
		return true
	case <-time.After(d):
		return false
	}
}

// do sends a command and returns its reply.
func (p *proc) do(cmd string) map[string]any {
	p.t.Helper()
	if _, err := fmt.Fprintln(p.stdin, cmd); err != nil {
		p.t.Fatalf("%s: write %q: %v", p.name, cmd, err)
	}
	word := strings.Fields(cmd)[0]
	return p.await(func(m map[string]any) bool { _, isReply := m["reply"]; return isReply && m["reply"] == word }, 30*time.Second, "reply to "+cmd)
}

// must sends a command that has to succeed.
func (p *proc) must(cmd string) map[string]any {
	p.t.Helper()
	r := p.do(cmd)
	if r["ok"] != true {
		p.t.Fatalf("%s: %q failed: %v", p.name, cmd, r["error"])
	}
	return r
}

// eventually retries cmd until check accepts its reply.
func (p *proc) eventually(cmd string, check func(map[string]any) bool, what string) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := p.do(cmd)
		if check(r) {
			return r
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %s never happened; last reply %v", p.name, what, r)
		}
		p.waitLine(time.Second)
	}
}

func auctionsOf(r map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	list, _ := r["auctions"].([]any)
	for _, a := range list {
		m := a.(map[string]any)
		out[m["item"].(string)] = m
	}
	return out
}

func TestSampleScenarioAcrossProcesses(t *testing.T) {
	boot := startBootstrap(t)
	dir := t.TempDir()
	c1 := startPeer(t, "Client#1", filepath.Join(dir, "c1"), boot)
	c2 := startPeer(t, "Client#2", filepath.Join(dir, "c2"), boot)
	c3 := startPeer(t, "Client#3", filepath.Join(dir, "c3"), boot)
	all := []*proc{c1, c2, c3}
	for _, p := range all {
		p.eventually("peers", func(r map[string]any) bool {
			n := 0
			for _, x := range r["peers"].([]any) {
				if x.(map[string]any)["connected"] == true {
					n++
				}
			}
			return n >= 2
		}, "connected to both others")
	}

	pic1 := c1.must(`open "Pic#1" 75`)["auction"].(string)
	pic2 := c2.must("open Pic#2 60")["auction"].(string)
	for _, p := range all {
		p.eventually("auctions", func(r map[string]any) bool { return len(auctionsOf(r)) == 2 }, "both auctions visible")
	}
	if r := c2.must("bid " + pic1[:8] + " 75"); r["amount"] != "75" {
		t.Fatalf("bid reply amount %v, want 75", r["amount"])
	}
	c3.eventually("show "+pic1, func(r map[string]any) bool { return nbids(r) == 1 }, "Client#3 sees the first bid")
	c3.must("bid " + pic1 + " 75.5")
	c2.eventually("show "+pic1, func(r map[string]any) bool { return nbids(r) == 2 }, "Client#2 sees the second bid")
	c2.must("bid " + pic1 + " 80")
	c1.eventually("show "+pic1, func(r map[string]any) bool { return nbids(r) == 3 }, "Client#1 sees three bids")
	closed := c1.must("close " + pic1)
	w, _ := closed["winner"].(map[string]any)
	if w == nil || w["amount"] != "80" || w["bidder_name"] != "Client#2" {
		t.Fatalf("close winner %v, want Client#2 at 80", closed["winner"])
	}

	var views []string
	for _, p := range all {
		r := p.eventually("show "+pic1, func(r map[string]any) bool { return r["status"] == "closed" }, "Pic#1 closed")
		a := p.must("show " + pic2)
		if a["status"] != "open" || nbids(a) != 0 || a["highest"] != nil {
			t.Fatalf("%s: Pic#2 %v, want open with no bids", p.name, a)
		}
		var amounts []string
		for _, b := range r["bids"].([]any) {
			bm := b.(map[string]any)
			amounts = append(amounts, bm["bidder_name"].(string)+"="+bm["amount"].(string))
		}
		got := strings.Join(amounts, ",")
		if want := "Client#2=75,Client#3=75.5,Client#2=80"; got != want {
			t.Fatalf("%s: bid history %s, want %s", p.name, got, want)
		}
		win := r["winner"].(map[string]any)
		views = append(views, fmt.Sprintf("%v/%v/%v", win["bidder"], win["amount"], got))
		if win["bidder"] != c2.ready["peer"] {
			t.Fatalf("%s: winner %v is not Client#2's key %v", p.name, win["bidder"], c2.ready["peer"])
		}
	}
	if views[0] != views[1] || views[1] != views[2] {
		t.Fatalf("peers disagree: %v", views)
	}
	for _, p := range all {
		p.must("quit")
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("%s: exit after quit: %v", p.name, err)
		}
	}
}

// nbids counts the bids of a show reply (a list) or an auction object (a number).
func nbids(r map[string]any) int {
	switch b := r["bids"].(type) {
	case []any:
		return len(b)
	case float64:
		return int(b)
	}
	return -1
}

func TestRestartAfterKillAcrossProcesses(t *testing.T) {
	boot := startBootstrap(t)
	dir := t.TempDir()
	seller := startPeer(t, "seller", filepath.Join(dir, "seller"), boot)
	victimDir := filepath.Join(dir, "victim")
	victim := startPeer(t, "victim", victimDir, boot)
	other := startPeer(t, "other", filepath.Join(dir, "other"), boot)
	key := victim.ready["peer"]

	vase := seller.must("open Vase 5")["auction"].(string)
	victim.eventually("show "+vase, func(r map[string]any) bool { return r["ok"] == true }, "victim sees Vase")
	victim.must("bid " + vase + " 6")

	// kill -9, then the market changes while the victim is down.
	victim.cmd.Process.Kill()
	victim.cmd.Wait()
	kite := seller.must("open Kite 7")["auction"].(string)
	other.eventually("show "+vase, func(r map[string]any) bool { return nbids(r) == 1 }, "other sees the victim's bid")
	other.must("bid " + vase + " 7")
	seller.must("close " + vase)

	again := startPeer(t, "victim", victimDir, boot)
	if again.ready["peer"] != key {
		t.Fatalf("restart changed the key: %v -> %v", key, again.ready["peer"])
	}
	// The close arrives with the seller's log; the winner's name with the winner's own log.
	r := again.eventually("show "+vase, func(r map[string]any) bool {
		w, _ := r["winner"].(map[string]any)
		return r["status"] == "closed" && w != nil && w["bidder_name"] != ""
	}, "missed close and the winner's profile arrive")
	if w := r["winner"].(map[string]any); w["bidder_name"] != "other" || w["amount"] != "7" {
		t.Fatalf("winner after restart %v, want other at 7", w)
	}
	again.eventually("show "+kite, func(r map[string]any) bool { return r["ok"] == true }, "missed open arrives")
	again.must("bid " + kite + " 8")
	seller.eventually("show "+kite, func(r map[string]any) bool { return nbids(r) == 1 }, "seller holds the bid after restart")
}

func TestHeadlessBadInput(t *testing.T) {
	boot := startBootstrap(t)
	dir := t.TempDir()
	seller := startPeer(t, "seller", filepath.Join(dir, "seller"), boot)
	bidder := startPeer(t, "bidder", filepath.Join(dir, "bidder"), boot)
	id := seller.must("open Lamp 10")["auction"].(string)
	bidder.eventually("show "+id, func(r map[string]any) bool { return r["ok"] == true }, "bidder sees Lamp")
	bidder.must("bid " + id + " 12")
	other := seller.must("open Kite 3")["auction"].(string)
	bidder.eventually("show "+other, func(r map[string]any) bool { return r["ok"] == true }, "bidder sees Kite")

	cases := []struct {
		p    *proc
		line string
	}{
		{bidder, "bid " + id + " 9"},                          // not above the highest
		{bidder, "bid " + id + " 12"},                         // equal to the highest
		{bidder, "bid " + other + " 2"},                       // below the start price
		{seller, "bid " + id + " 50"},                         // own auction
		{bidder, "close " + id},                               // not the seller
		{bidder, "bid " + id + " 0"},                          // zero
		{bidder, "bid " + id + " -5"},                         // negative
		{bidder, "bid " + id + " 1.0000001"},                  // more than 6 decimals
		{bidder, "bid " + id + " 1e3"},                        // exponent
		{bidder, "bid " + id + " NaN"},                        // not a number
		{bidder, "bid " + id + " 99999999999999"},             // above the maximum
		{bidder, "bid " + id + " ten"},                        // text
		{bidder, "bid ffffffffffffffff 20"},                   // unknown id
		{bidder, "bid " + id[:0] + "zz 20"},                   // not hex
		{bidder, "bid " + id},                                 // missing amount
		{bidder, "show nothere"},                              // unknown id
		{seller, "open"},                                      // missing args
		{seller, "open Pic 10 soon"},                          // bad duration
		{seller, "open \"\" 10"},                              // empty item
		{seller, "open \"unterminated 10"},                    // bad quoting
		{seller, "frobnicate"},                                // unknown command
		{seller, "open " + strings.Repeat("x", 5000) + " 10"}, // over-long line
	}
	for _, tc := range cases {
		word := strings.Fields(tc.line)[0]
		if _, err := fmt.Fprintln(tc.p.stdin, tc.line); err != nil {
			t.Fatal(err)
		}
		r := tc.p.await(func(m map[string]any) bool { _, isReply := m["reply"]; return isReply }, 30*time.Second, "reply to "+tc.line[:min(len(tc.line), 40)])
		if r["ok"] != false || r["error"] == "" || r["error"] == nil {
			t.Fatalf("%q: reply %v, want ok:false with a reason", tc.line[:min(len(tc.line), 60)], r)
		}
		if len(tc.line) < 4096 && r["reply"] != word {
			t.Fatalf("%q: reply names %v, want %q", tc.line, r["reply"], word)
		}
	}
	// Nothing changed, and both peers keep working.
	r := seller.must("show " + id)
	if nbids(r) != 1 || r["status"] != "open" {
		t.Fatalf("Lamp changed: %v", r)
	}
	if got := len(auctionsOf(seller.must("auctions"))); got != 2 {
		t.Fatalf("seller has %d auctions, want 2", got)
	}
	bidder.must("bid " + id + " 13")
	seller.eventually("show "+id, func(r map[string]any) bool { return nbids(r) == 2 }, "a good bid after the bad ones")
}
