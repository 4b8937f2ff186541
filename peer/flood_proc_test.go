package peer

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/peer/rpc"
	"github.com/auction-tui/auction-tui/wire"
)

// The request flood of TestHostileFlood measured fairly: the attacker runs in a separate OS
// process (this test binary re-executed), and with taskset available the victim process (seller
// and honest bidder) and the attacker are pinned to different CPUs, in the quiet rounds as in the
// flood rounds, as if they were separate machines. It takes about 15 s, so it is gated:
//
//	AUCTION_FLOOD_PROC=1 go test -run '^TestHostileFloodProcess$' -v ./peer
//
// AUCTION_FLOOD_PIN=0 runs both processes unpinned.

// Environment and bounds of the separate-process flood measurement.
const (
	// floodProcEnv set to "1" runs TestHostileFloodProcess.
	floodProcEnv = "AUCTION_FLOOD_PROC"
	// floodPinEnv set to "0" turns CPU pinning off.
	floodPinEnv = "AUCTION_FLOOD_PIN"
	// floodRoleEnv tells a re-executed test binary its part: floodRoleVictim or floodRoleAttacker.
	floodRoleEnv      = "AUCTION_FLOOD_ROLE"
	floodRoleVictim   = "victim"
	floodRoleAttacker = "attacker"
	// floodSpecEnv is the path of the JSON floodSpec the attacker reads.
	floodSpecEnv = "AUCTION_FLOOD_SPEC"
	// floodVictimCPU and floodAttackerCPU are the CPUs (taskset -c lists) of the two processes.
	floodVictimCPU   = "0"
	floodAttackerCPU = "1"
	// floodRounds is the number of quiet and flood phases, alternated; the report gives medians.
	floodRounds = 7
	// floodProcBids is the number of honest bids timed per phase.
	floodProcBids = 100
	// floodFetchEntries is the range the attacker's fetches ask for: a fixed window (the seller's
	// log is grown beyond it first), so that a fetch costs the same in every round while the
	// honest bids grow the log; TestHostileFlood asks for wire.MaxRangeEntries.
	floodFetchEntries = 64
	// floodSteady bounds the wait for the flood to reach the seller's rate limit.
	floodSteady = 3 * time.Second
	// floodProcWait bounds every wait on the attacker process (ready, stop, exit).
	floodProcWait = 20 * time.Second
)

// floodSpec tells the attacker process whom to flood with what.
type floodSpec struct {
	Seed    []byte         // the attacker's ed25519 seed (the parent signs its bad bid with it)
	Seller  wire.PeerKey   // the victim's key
	Addr    netip.AddrPort // the victim's RPC address
	Callers int            // concurrent request loops
	Calls   []floodCall    // the calls, in turn
}

// floodCall is one request of the flood mix.
type floodCall struct {
	Method  string
	Payload []byte
}

func TestHostileFloodProcess(t *testing.T) {
	switch os.Getenv(floodRoleEnv) {
	case floodRoleAttacker:
		runFloodAttacker(t)
		return
	case floodRoleVictim:
		runFloodVictim(t, true)
		return
	}
	if os.Getenv(floodProcEnv) != "1" {
		t.Skipf("set %s=1 to measure a flood from a separate process (about 15 s)", floodProcEnv)
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil || runtime.NumCPU() < 2 || os.Getenv(floodPinEnv) == "0" {
		t.Logf("not pinning CPUs (taskset: %v, %d CPUs, %s=%q)", err, runtime.NumCPU(), floodPinEnv, os.Getenv(floodPinEnv))
		runFloodVictim(t, false)
		return
	}
	// Re-execute as the victim pinned to its CPU: pinning at exec time covers every thread, and the
	// Go runtime then sizes GOMAXPROCS to that CPU set.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, taskset, "-c", floodVictimCPU, os.Args[0],
		"-test.run=^TestHostileFloodProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), floodRoleEnv+"="+floodRoleVictim)
	out, err := cmd.CombinedOutput()
	for l := range strings.Lines(string(out)) {
		t.Log(strings.TrimRight(l, "\n"))
	}
	if err != nil {
		t.Fatalf("victim process: %v", err)
	}
}

// runFloodVictim runs the seller and the honest bidder in this process, starts the attacker
// process (pinned to floodAttackerCPU when pin is set) and times honest bids in alternating quiet
// and flood phases.
func runFloodVictim(t *testing.T, pin bool) {
	m := newMarket(t)
	seller, honest := m.start("seller"), m.start("honest")
	ctx := t.Context()
	for _, n := range m.nodes {
		eventually(t, n, "connected", connectedTo(n, 1))
	}
	a, err := seller.Open(ctx, "Pic#1", amt(t, "10"), 0)
	if err != nil {
		t.Fatal(err)
	}
	id := a.ID.String()
	eventually(t, honest, "sees Pic#1", func() bool { _, err := honest.Auction(id); return err == nil })

	// The attacker's identity and its flood mix, as in TestHostileFlood.
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	evil := ed25519.NewKeyFromSeed(seed)
	badBid := wire.SignBid(evil, wire.Bid{Auction: a.ID, Amount: amt(t, "99"), Bidder: wire.KeyOf(evil), Time: time.Now().UnixMilli()})
	badBid.Sig[0] ^= 1
	spec := floodSpec{Seed: seed, Seller: seller.Key(), Addr: seller.ep.Addr(), Callers: floodCallers, Calls: []floodCall{
		{methodFetch, wire.FetchRequest{Key: seller.Key(), Start: 0, End: floodFetchEntries}.Marshal()},
		{methodBid, badBid.Marshal()},
		{methodHeads, wire.Heads{Heads: []wire.SignedHead{seller.store.Own().Head()}}.Marshal()},
	}}
	specPath := filepath.Join(t.TempDir(), "flood.json")
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	att := startAttacker(t, specPath, pin)
	cpus := "unpinned"
	if pin {
		cpus = fmt.Sprintf("victim on CPU %s, attacker on CPU %s", floodVictimCPU, floodAttackerCPU)
	}

	// Warm up, and grow the seller's log beyond floodFetchEntries so that every round's fetches
	// cost the same.
	_, next := timeBids(t, honest, id, amt(t, "10"), floodFetchEntries)
	var quiet, flood []time.Duration
	var ratios []float64
	for r := range floodRounds {
		q, n := timeBids(t, honest, id, next, floodProcBids)
		// Time the honest bids in the flood's steady state: once the attacker spent its burst and
		// the rate limit refuses it. A flood whose calls cost the seller so much that it stays
		// below the rate never gets there: then time them after floodSteady.
		rl0 := seller.ep.Stats().RateLimited
		att.send(t, "start")
		deadline := time.Now().Add(floodSteady)
		for seller.ep.Stats().RateLimited == rl0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // polling a counter of another process's effect
		}
		f, n := timeBids(t, honest, id, n, floodProcBids)
		next = n
		att.send(t, "stop")
		report := att.line(t)
		t.Logf("round %d: honest bid p50 quiet %v, flood %v (ratio %.2f); attacker: %s", r, q, f, float64(f)/float64(q), report)
		quiet, flood = append(quiet, q), append(flood, f)
		ratios = append(ratios, float64(f)/float64(q))
	}
	ratio := median(ratios)
	st := seller.ep.Stats()
	t.Logf("attacker in a separate process (%s), %d callers, %d rounds of %d bids: honest bid p50 median quiet %v, flood %v (ratio of the medians %.2f), median of the rounds' ratios %.2f (target %d); seller refused %d by rate limit, %d overloaded, %d rejected",
		cpus, floodCallers, floodRounds, floodProcBids, median(quiet), median(flood), float64(median(flood))/float64(median(quiet)), ratio, latencyFactor,
		st.RateLimited, st.Overloaded, st.Rejected)
	if ratio > latencyFactor {
		finding(t, "honest bid p50 under a flood from another process is %.1f times the quiet one (target %d times)", ratio, latencyFactor)
	}
	att.quit(t)
}

// median returns the middle element of a sorted copy of xs.
func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// attacker is the attacker process seen from the victim: commands on its stdin, one report line
// per "stop" on its stdout.
type attacker struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	done  chan error
}

// startAttacker re-executes the test binary as the attacker and waits until it is connected.
func startAttacker(t *testing.T, specPath string, pin bool) *attacker {
	t.Helper()
	args := []string{os.Args[0], "-test.run=^TestHostileFloodProcess$", "-test.count=1"}
	if pin {
		args = append([]string{"taskset", "-c", floodAttackerCPU}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), floodRoleEnv+"="+floodRoleAttacker, floodSpecEnv+"="+specPath)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &attacker{cmd: cmd, in: in, lines: make(chan string, 16), done: make(chan error, 1)}
	go func() { // owned by the process: ends when its stdout closes
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "FLOOD "); ok {
				a.lines <- l
			}
		}
		close(a.lines)
		a.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = in.Close()
		select {
		case <-a.done:
		case <-time.After(floodProcWait):
			_ = cmd.Process.Kill()
			<-a.done
		}
	})
	if l := a.line(t); l != "ready" {
		t.Fatalf("attacker: %q, want ready", l)
	}
	return a
}

func (a *attacker) send(t *testing.T, cmd string) {
	t.Helper()
	if _, err := io.WriteString(a.in, cmd+"\n"); err != nil {
		t.Fatalf("attacker %s: %v", cmd, err)
	}
}

// line returns the attacker's next report line, failing after floodProcWait.
func (a *attacker) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-a.lines:
		if !ok {
			t.Fatal("the attacker process ended")
		}
		return l
	case <-time.After(floodProcWait):
		t.Fatal("no answer from the attacker process")
	}
	return ""
}

// quit ends the attacker process and checks that it exited cleanly.
func (a *attacker) quit(t *testing.T) {
	t.Helper()
	_ = a.in.Close()
	for range a.lines {
	}
	if err := <-a.done; err != nil {
		t.Errorf("attacker process: %v", err)
	}
	a.done <- nil // for the cleanup
}

// runFloodAttacker is the attacker process: a bare RPC endpoint with the spec's key that floods
// the seller with the spec's calls between "start" and "stop" commands read from stdin, and
// writes "FLOOD ..." lines to stdout (its only reader is the victim process).
func runFloodAttacker(t *testing.T) {
	b, err := os.ReadFile(os.Getenv(floodSpecEnv))
	if err != nil {
		t.Fatal(err)
	}
	var spec floodSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	ep, err := rpc.Listen(t.Context(), "127.0.0.1:0", ed25519.NewKeyFromSeed(spec.Seed))
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	// The seller pushes its entries and exchanges heads with every peer that connects: answer
	// as a quiet replica would.
	ep.Respond(methodPush, func(context.Context, *rpc.Request) ([]byte, error) { return nil, nil })
	ep.Respond(methodHeads, func(context.Context, *rpc.Request) ([]byte, error) { return wire.Heads{}.Marshal(), nil })
	if err := ep.Connect(t.Context(), spec.Seller, spec.Addr); err != nil {
		t.Fatal(err)
	}
	fmt.Println("FLOOD ready")
	var (
		stop                          context.CancelFunc
		wg                            sync.WaitGroup
		ok, overloaded, rejected, oth atomic.Int64
		t0                            time.Time
	)
	halt := func() {
		if stop == nil {
			return
		}
		stop()
		wg.Wait()
		stop = nil
		el := time.Since(t0)
		n := ok.Load() + overloaded.Load() + rejected.Load()
		fmt.Printf("FLOOD %d calls in %v (%.0f/s): %d ok, %d overloaded, %d rejected, %d other\n",
			n, el.Round(time.Millisecond), float64(n)/el.Seconds(), ok.Load(), overloaded.Load(), rejected.Load(), oth.Load())
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "start":
			if stop != nil {
				continue
			}
			ok.Store(0)
			overloaded.Store(0)
			rejected.Store(0)
			oth.Store(0)
			fctx, cancel := context.WithCancel(t.Context())
			stop = cancel
			t0 = time.Now()
			for c := range spec.Callers {
				wg.Go(func() {
					for i := c; fctx.Err() == nil; i++ {
						call := spec.Calls[i%len(spec.Calls)]
						_, err := ep.Request(fctx, spec.Seller, call.Method, call.Payload)
						var re *rpc.Error
						switch {
						case fctx.Err() != nil:
						case err == nil:
							ok.Add(1)
						case errors.As(err, &re) && re.Code == rpc.CodeOverloaded:
							overloaded.Add(1)
						case errors.As(err, &re) && re.Code == rpc.CodeRejected:
							rejected.Add(1)
						default:
							oth.Add(1)
						}
					}
				})
			}
		case "stop":
			halt()
		}
	}
	halt()
}
