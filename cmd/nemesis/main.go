// Command nemesis is the process-level fault test of auction-tui: it runs a bootstrap node and
// several real `auction-tui headless` processes on loopback, drives a live bidding load through
// their stdin (the NDJSON protocol of DESIGN.md), kills peers with SIGKILL and restarts them on
// the same data folder, pauses peers with SIGSTOP/SIGCONT, and then, once every peer runs again,
// checks the market's invariants through `auctions` and `show` on every process:
//
//   - every auction has the same status, winner and accepted bids (in the same order) everywhere;
//   - no bid is accepted after its close: the winner of every closed auction is its last
//     (highest) accepted bid, the winner equals the one the `close` reply named, and every `bid`
//     sent after a `close` of that auction was acknowledged is refused;
//   - nothing acknowledged is lost: every `open`, `bid` and `close` that got ok:true is on every
//     peer (a bid by its bidder and amount).
//
// The workload and the fault schedule are drawn from -seed (which peer acts, what it does, which
// peer is killed or paused and for how long); the processes' timing is not deterministic, so a
// seed replays the same plan, not the same interleaving. Everything listens on 127.0.0.1 only.
//
// Usage:
//
//	go run ./cmd/nemesis -seed 1 -peers 8 -crashes 100 -duration 6m
//
// The report goes to stdout (text, or JSON with -json); the processes' stderr goes to files in
// -dir (default: a temporary folder, removed on success unless -keep). The exit status is 1 when
// an invariant is broken or the run could not complete.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults and limits of a run.
const (
	// DefaultPeers is the number of headless processes.
	DefaultPeers = 8
	// DefaultCrashes is the number of SIGKILLs after which the fault phase ends.
	DefaultCrashes = 100
	// DefaultDuration bounds the fault phase; it ends earlier once -crashes kills happened.
	DefaultDuration = 8 * time.Minute
	// MaxDown is the most peers killed or paused at one time.
	MaxDown = 2
	// commandTimeout bounds the wait for one reply; a paused process answers late, and the late
	// reply is still recorded (replies come in order).
	commandTimeout = 20 * time.Second
	// readyTimeout bounds the wait for a started process's ready line.
	readyTimeout = 60 * time.Second
	// convergeTimeout bounds the wait for every peer to agree after the faults end.
	convergeTimeout = 3 * time.Minute
	// maxLine bounds one stdout line of a peer (an `auctions` reply with every auction).
	maxLine = 16 << 20
)

// config is one run's settings, from the flags.
type config struct {
	bin      string
	dir      string
	keep     bool
	seed     uint64
	peers    int
	crashes  int
	duration time.Duration
	asJSON   bool
	log      *slog.Logger
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", "", "auction-tui binary (default: go build the repository's root package into -dir)")
	flag.StringVar(&cfg.dir, "dir", "", "folder for data folders and logs (default: a temporary folder)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep -dir after a successful run")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the workload and fault schedule")
	flag.IntVar(&cfg.peers, "peers", DefaultPeers, "number of headless peer processes")
	flag.IntVar(&cfg.crashes, "crashes", DefaultCrashes, "SIGKILLs after which the fault phase ends")
	flag.DurationVar(&cfg.duration, "duration", DefaultDuration, "upper bound of the fault phase")
	flag.BoolVar(&cfg.asJSON, "json", false, "print the report as JSON")
	verbose := flag.Bool("v", false, "log the fault schedule to stderr")
	flag.Parse()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if cfg.peers < 3 {
		fmt.Fprintln(os.Stderr, "nemesis: -peers must be at least 3")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if cfg.asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		rep.print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nemesis:", err)
		os.Exit(1)
	}
	if len(rep.Violations) > 0 {
		os.Exit(1)
	}
}

// report is what a run did and found.
type report struct {
	Seed                             uint64
	Peers                            int
	FaultPhase                       string
	Crashes, Restarts, Pauses        int
	Opens, OpensAcked                int
	Bids, BidsAcked, BidsRefused     int
	BidsAfterClose, BidsAfterCloseOK int
	Closes, ClosesAcked              int
	CommandTimeouts, CommandsLost    int
	RestartMedian, RestartMax        string
	PauseTotal                       string
	Convergence                      string
	// ConvergeFrom is when, after the heal, the last poll round that still saw a difference
	// started (0s when the first round agreed): agreement came between it and Convergence.
	// PollRounds counts the rounds, the agreeing one included.
	ConvergeFrom           string
	PollRounds             int
	Auctions, BidsInMarket int
	Violations             []string
	RefusalReasons         map[string]int
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "nemesis seed %d: %d peers, fault phase %s\n", r.Seed, r.Peers, r.FaultPhase)
	fmt.Fprintf(w, "  faults: %d SIGKILLs, %d restarts (median %s to ready, max %s), %d SIGSTOP/SIGCONT pauses (%s paused in all)\n",
		r.Crashes, r.Restarts, r.RestartMedian, r.RestartMax, r.Pauses, r.PauseTotal)
	fmt.Fprintf(w, "  load: opens %d/%d acked, bids %d sent %d acked %d refused, closes %d/%d acked; %d bids sent after an acknowledged close (%d acked)\n",
		r.OpensAcked, r.Opens, r.Bids, r.BidsAcked, r.BidsRefused, r.ClosesAcked, r.Closes, r.BidsAfterClose, r.BidsAfterCloseOK)
	fmt.Fprintf(w, "  commands: %d waited longer than %s, %d lost with their process\n", r.CommandTimeouts, commandTimeout, r.CommandsLost)
	keys := make([]string, 0, len(r.RefusalReasons))
	for k := range r.RefusalReasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return r.RefusalReasons[keys[i]] > r.RefusalReasons[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(w, "    refused %5d: %s\n", r.RefusalReasons[k], k)
	}
	rounds := "the first poll round"
	if r.PollRounds > 1 {
		rounds = fmt.Sprintf("poll round %d; the last that saw a difference started at %s", r.PollRounds, r.ConvergeFrom)
	}
	fmt.Fprintf(w, "  after healing: every peer agreed in %s (%s); %d auctions, %d accepted bids\n",
		r.Convergence, rounds, r.Auctions, r.BidsInMarket)
	if len(r.Violations) == 0 {
		fmt.Fprintln(w, "  invariants: all held (same winner everywhere, no bid after close, no acknowledged open/bid/close lost)")
		return
	}
	fmt.Fprintf(w, "  invariants: %d BROKEN\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintln(w, "    -", v)
	}
}

// ackedBid is a bid a peer acknowledged with ok:true.
type ackedBid struct {
	auction, bidder, amount string
}

// auctionRec is the nemesis's record of one acknowledged open.
type auctionRec struct {
	id, seller string // seller: the seller's peer key
	sellerIdx  int
	next       int // the next whole-USDt amount the load will bid
	closedAt   time.Time
	winner     string // from the close reply: "bidder amount" or "none"
}

// nemesis is one run's shared state.
type nemesis struct {
	cfg  config
	boot string

	mu       sync.Mutex
	rep      report
	procs    []*proc
	auctions []*auctionRec
	byID     map[string]*auctionRec
	acked    []ackedBid
	restarts []time.Duration
	paused   time.Duration
}

func run(ctx context.Context, cfg config) (rep report, err error) {
	n := &nemesis{cfg: cfg, byID: map[string]*auctionRec{}}
	n.rep.Seed, n.rep.Peers = cfg.seed, cfg.peers
	n.rep.RefusalReasons = map[string]int{}
	defer func() { rep = n.snapshot() }()
	if cfg.dir == "" {
		d, err := os.MkdirTemp("", "nemesis-")
		if err != nil {
			return rep, err
		}
		cfg.dir = d
		n.cfg.dir = d
		defer func() {
			if err == nil && len(n.rep.Violations) == 0 && !cfg.keep {
				os.RemoveAll(d)
			} else {
				fmt.Fprintln(os.Stderr, "nemesis: logs and data kept in", d)
			}
		}()
	}
	if cfg.bin == "" {
		n.cfg.bin = filepath.Join(cfg.dir, "auction-tui")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", n.cfg.bin, ".").CombinedOutput()
		if err != nil {
			return rep, fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	stopBoot, err := n.startBootstrap(ctx)
	if err != nil {
		return rep, err
	}
	defer stopBoot()
	n.procs = make([]*proc, cfg.peers)
	for i := range cfg.peers {
		p := &proc{n: n, idx: i, name: fmt.Sprintf("n%02d", i), data: filepath.Join(cfg.dir, fmt.Sprintf("n%02d", i)), listen: "127.0.0.1:0"}
		n.procs[i] = p
		if err := p.start(ctx); err != nil {
			return rep, err
		}
	}
	defer func() {
		for _, p := range n.procs {
			p.stop()
		}
	}()

	// The fault phase: workers drive the load while the nemesis kills and pauses.
	faultCtx, endFaults := context.WithTimeout(ctx, cfg.duration)
	defer endFaults()
	var wg sync.WaitGroup
	for i := range cfg.peers {
		wg.Add(1)
		go func() { defer wg.Done(); n.worker(faultCtx, i) }()
	}
	start := time.Now()
	ferr := n.faults(faultCtx)
	endFaults()
	wg.Wait()
	n.mu.Lock()
	n.rep.FaultPhase = time.Since(start).Round(time.Millisecond).String()
	n.mu.Unlock()
	if ferr != nil {
		return rep, ferr
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	// Heal: every paused peer continues, every killed peer restarts. Then wait for agreement.
	for _, p := range n.procs {
		p.cont()
	}
	for _, p := range n.procs {
		if !p.alive() {
			if err := p.start(ctx); err != nil {
				return rep, err
			}
		}
	}
	healed := time.Now()
	views, differed, rounds, err := n.converge(ctx)
	if err != nil {
		return rep, err
	}
	n.mu.Lock()
	n.rep.Convergence = time.Since(healed).Round(time.Millisecond).String()
	n.rep.ConvergeFrom = max(differed.Sub(healed), 0).Round(time.Millisecond).String()
	n.rep.PollRounds = rounds
	n.mu.Unlock()
	return rep, n.check(ctx, views)
}

func (n *nemesis) snapshot() report {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.rep
	if len(n.restarts) > 0 {
		ds := slices.Clone(n.restarts)
		slices.Sort(ds)
		r.RestartMedian = ds[len(ds)/2].Round(time.Millisecond).String()
		r.RestartMax = ds[len(ds)-1].Round(time.Millisecond).String()
	}
	r.PauseTotal = n.paused.Round(time.Millisecond).String()
	return r
}

func (n *nemesis) violate(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rep.Violations = append(n.rep.Violations, fmt.Sprintf(format, args...))
}

// startBootstrap runs `auction-tui bootstrap` on a free loopback port.
func (n *nemesis) startBootstrap(ctx context.Context) (func(), error) {
	cmd := exec.Command(n.cfg.bin, "bootstrap", "--listen", "127.0.0.1:0")
	errf, err := os.Create(filepath.Join(n.cfg.dir, "bootstrap.stderr"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = errf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait(); errf.Close() }
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(l)
		if addr == "" {
			stop()
			return nil, fmt.Errorf("bootstrap line %q names no address", l)
		}
		n.boot = addr
		return stop, nil
	case <-time.After(readyTimeout):
		stop()
		return nil, errors.New("bootstrap printed no line")
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
}

// reply is one reply line of a peer, or nil when the process died before answering.
type reply map[string]any

// pending is a command awaiting its reply. Replies come in order, so the reader hands each reply
// line to the oldest pending command; a reply that comes after its sender gave up waiting is
// still recorded by onReply.
type pending struct {
	cmd     string
	sent    time.Time
	done    chan reply
	onReply func(reply)
}

// proc is one headless peer process and its restarts.
type proc struct {
	n      *nemesis
	idx    int
	name   string
	data   string
	listen string // the address to listen on at the next start: the last one, or :0
	key    string // the peer key from the ready line (the same after every restart)

	mu      sync.Mutex
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	queue   []*pending
	exited  chan struct{} // closed when the current process's stdout ends
	paused  bool
	pausedT time.Time
	// starting is set while start waits for the ready line: the nemesis leaves such a process
	// alone, so that one restart is in flight per peer.
	starting bool
	gen      int // incremented at each start
}

func (p *proc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// start starts the process and waits for its ready line.
func (p *proc) start(ctx context.Context) error {
	p.mu.Lock()
	p.starting = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.starting = false
		p.mu.Unlock()
	}()
	for attempt := 0; ; attempt++ {
		err := p.startOnce(ctx)
		if err == nil {
			return nil
		}
		if attempt >= 2 || ctx.Err() != nil {
			return fmt.Errorf("%s: start: %w", p.name, err)
		}
		p.n.cfg.log.Warn("start failed; retrying on a fresh port", "peer", p.name, "err", err)
		p.listen = "127.0.0.1:0" // the old port was taken meanwhile
	}
}

func (p *proc) startOnce(ctx context.Context) error {
	t0 := time.Now()
	cmd := exec.Command(p.n.cfg.bin, "headless", "--name", p.name, "--data", p.data,
		"--bootstrap", p.n.boot, "--listen", p.listen, "--market", "nemesis")
	errf, err := os.OpenFile(filepath.Join(p.n.cfg.dir, p.name+".stderr"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd.Stderr = errf
	stdin, err := cmd.StdinPipe()
	if err != nil {
		errf.Close()
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		errf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		errf.Close()
		return err
	}
	ready := make(chan reply, 1)
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.stdin, p.exited, p.paused = cmd, stdin, exited, false
	p.gen++
	p.mu.Unlock()
	go p.read(stdout, ready, exited, cmd, errf)
	select {
	case r := <-ready:
		key, _ := r["peer"].(string)
		if p.key == "" {
			p.key = key // the first start, before any worker reads it
		} else if key != p.key {
			p.n.violate("%s restarted with another key: %.16s, was %.16s", p.name, key, p.key)
		}
		if a, _ := r["addr"].(string); a != "" {
			p.listen = a
		}
		p.n.mu.Lock()
		if p.gen > 1 {
			p.n.restarts = append(p.n.restarts, time.Since(t0))
		}
		p.n.mu.Unlock()
		return nil
	case <-exited:
		p.mu.Lock()
		p.cmd = nil
		p.mu.Unlock()
		b, _ := os.ReadFile(filepath.Join(p.n.cfg.dir, p.name+".stderr"))
		return fmt.Errorf("exited before ready: %s", lastLine(string(b)))
	case <-time.After(readyTimeout):
		p.kill()
		return errors.New("no ready line")
	case <-ctx.Done():
		p.kill()
		return ctx.Err()
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// read hands reply lines to pending commands in order and the ready line to ready; at the end of
// output it reaps the process and fails every command still pending.
func (p *proc) read(stdout io.Reader, ready chan<- reply, exited chan struct{}, cmd *exec.Cmd, errf *os.File) {
	r := bufio.NewReaderSize(stdout, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line (an `auctions` reply): gather it whole.
			buf := slices.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) && len(buf) < maxLine {
				line, err = r.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err != nil && len(line) == 0 {
			break
		}
		var m reply
		if json.Unmarshal(line, &m) != nil {
			p.n.violate("%s printed a line that is not JSON: %.120q", p.name, line)
			continue
		}
		if m["event"] == "ready" {
			ready <- m
			continue
		}
		if _, ok := m["reply"]; !ok {
			continue // an event
		}
		p.mu.Lock()
		var pd *pending
		if len(p.queue) > 0 {
			pd, p.queue = p.queue[0], p.queue[1:]
		}
		p.mu.Unlock()
		if pd == nil {
			p.n.violate("%s sent a reply nobody asked for: %v", p.name, m)
			continue
		}
		if m["reply"] != strings.Fields(pd.cmd)[0] {
			p.n.violate("%s answered %q with a %v reply", p.name, pd.cmd, m["reply"])
		}
		pd.onReply(m)
		pd.done <- m
	}
	cmd.Wait()
	errf.Close()
	p.mu.Lock()
	lost := p.queue
	p.queue = nil
	if p.cmd == cmd {
		p.cmd = nil
	}
	p.mu.Unlock()
	p.n.mu.Lock()
	p.n.rep.CommandsLost += len(lost)
	p.n.mu.Unlock()
	for _, pd := range lost {
		pd.done <- nil
	}
	close(exited)
}

// do sends a command and waits for its reply (nil: the process is down or died, or the reply
// did not come within commandTimeout; onReply still sees a late reply).
func (p *proc) do(ctx context.Context, cmd string, onReply func(reply)) reply {
	pd := &pending{cmd: cmd, sent: time.Now(), done: make(chan reply, 1), onReply: onReply}
	p.mu.Lock()
	if p.cmd == nil {
		p.mu.Unlock()
		return nil
	}
	p.queue = append(p.queue, pd)
	_, err := io.WriteString(p.stdin, cmd+"\n")
	if err != nil {
		p.queue = p.queue[:len(p.queue)-1]
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	t := time.NewTimer(commandTimeout)
	defer t.Stop()
	select {
	case r := <-pd.done:
		return r
	case <-t.C:
		p.n.mu.Lock()
		p.n.rep.CommandTimeouts++
		p.n.mu.Unlock()
		return nil
	case <-ctx.Done():
		return nil
	}
}

// kill sends SIGKILL (continuing a paused process first is not needed: SIGKILL ends it) and
// waits until its output ended.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	p.mu.Lock()
	if p.paused {
		p.paused = false
		p.n.mu.Lock()
		p.n.paused += time.Since(p.pausedT)
		p.n.mu.Unlock()
	}
	p.mu.Unlock()
}

func (p *proc) pause() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.paused {
		return false
	}
	if p.cmd.Process.Signal(syscall.SIGSTOP) != nil {
		return false
	}
	p.paused, p.pausedT = true, time.Now()
	return true
}

func (p *proc) cont() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || !p.paused {
		return
	}
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.paused = false
	p.n.mu.Lock()
	p.n.paused += time.Since(p.pausedT)
	p.n.mu.Unlock()
}

// stop ends the process cleanly (quit, then SIGKILL if it lingers).
func (p *proc) stop() {
	p.cont()
	p.mu.Lock()
	cmd, stdin, exited := p.cmd, p.stdin, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	stdin.Close()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

func (p *proc) isDown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd == nil || p.paused || p.starting
}

// faults kills, restarts and pauses peers until the context ends or enough kills happened.
func (n *nemesis) faults(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(n.cfg.seed, 0x6e656d65)) // "neme"
	var wg sync.WaitGroup
	defer wg.Wait()
	var errMu sync.Mutex
	var firstErr error
	for {
		n.mu.Lock()
		crashes := n.rep.Crashes
		n.mu.Unlock()
		if crashes >= n.cfg.crashes {
			return firstErr
		}
		gap := time.Duration(100+rng.IntN(300)) * time.Millisecond
		select {
		case <-ctx.Done():
			return firstErr
		case <-time.After(gap):
		}
		down := 0
		for _, p := range n.procs {
			if p.isDown() {
				down++
			}
		}
		victim := n.procs[rng.IntN(len(n.procs))]
		kill := rng.IntN(100) < 75
		hold := time.Duration(100+rng.IntN(1400)) * time.Millisecond
		if down >= MaxDown || victim.isDown() {
			continue // the draws above are made anyway, so the plan does not shift
		}
		if kill {
			victim.kill()
			n.mu.Lock()
			n.rep.Crashes++
			n.mu.Unlock()
			n.cfg.log.Info("SIGKILL", "peer", victim.name, "restart_in", hold)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if !sleepCtx(ctx, hold) {
					return // restarted at the heal
				}
				if err := victim.start(context.WithoutCancel(ctx)); err != nil {
					errMu.Lock()
					firstErr = firstOf(firstErr, err)
					errMu.Unlock()
					return
				}
				n.mu.Lock()
				n.rep.Restarts++
				n.mu.Unlock()
			}()
			continue
		}
		if victim.pause() {
			n.mu.Lock()
			n.rep.Pauses++
			n.mu.Unlock()
			n.cfg.log.Info("SIGSTOP", "peer", victim.name, "for", hold)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sleepCtx(ctx, hold) // continued at the heal at the latest
				victim.cont()
			}()
		}
	}
}

func firstOf(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// worker drives peer i's share of the load: open (15%), bid (75%, one in ten on an auction
// whose close was acknowledged), close one of its own auctions (10%).
func (n *nemesis) worker(ctx context.Context, i int) {
	rng := rand.New(rand.NewPCG(n.cfg.seed, uint64(i)+1))
	p := n.procs[i]
	item := 0
	for ctx.Err() == nil {
		x := rng.IntN(100)
		pickAny := rng.IntN(1 << 30)
		wait := time.Duration(20+rng.IntN(80)) * time.Millisecond
		if p.isDown() {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		switch {
		case x < 15:
			item++
			price := 1 + rng.IntN(50)
			cmd := fmt.Sprintf("open \"n%02d item %d\" %d", i, item, price)
			n.count(func(r *report) { r.Opens++ })
			p.do(ctx, cmd, func(r reply) {
				if r["ok"] != true {
					n.refused("open", r)
					return
				}
				id, _ := r["auction"].(string)
				n.mu.Lock()
				defer n.mu.Unlock()
				n.rep.OpensAcked++
				a := &auctionRec{id: id, seller: p.key, sellerIdx: i, next: price}
				n.auctions = append(n.auctions, a)
				n.byID[id] = a
			})
		case x < 90:
			n.mu.Lock()
			var cands []*auctionRec
			wantClosed := x >= 82 // about one bid in ten goes to a closed auction
			for _, a := range n.auctions {
				if a.sellerIdx != i && (!a.closedAt.IsZero()) == wantClosed {
					cands = append(cands, a)
				}
			}
			if len(cands) == 0 {
				n.mu.Unlock()
				continue
			}
			a := cands[pickAny%len(cands)]
			amount := a.next
			a.next += 1 + pickAny%3
			closed := !a.closedAt.IsZero()
			n.rep.Bids++
			if closed {
				n.rep.BidsAfterClose++
			}
			n.mu.Unlock()
			cmd := fmt.Sprintf("bid %s %d", a.id, amount)
			p.do(ctx, cmd, func(r reply) {
				if r["ok"] != true {
					n.refused("bid", r)
					return
				}
				n.mu.Lock()
				n.rep.BidsAcked++
				n.acked = append(n.acked, ackedBid{auction: a.id, bidder: p.key, amount: strconv.Itoa(amount)})
				if closed {
					n.rep.BidsAfterCloseOK++
				}
				n.mu.Unlock()
				if closed {
					n.violate("bid %d on %s acknowledged by %s although the auction's close was acknowledged before the bid was sent", amount, a.id[:12], p.name)
				}
			})
		default:
			n.mu.Lock()
			var own []*auctionRec
			for _, a := range n.auctions {
				if a.sellerIdx == i && a.closedAt.IsZero() {
					own = append(own, a)
				}
			}
			if len(own) < 3 { // keep a few open auctions to bid on
				n.mu.Unlock()
				continue
			}
			a := own[pickAny%len(own)]
			n.rep.Closes++
			n.mu.Unlock()
			p.do(ctx, "close "+a.id, func(r reply) {
				if r["ok"] != true {
					n.refused("close", r)
					return
				}
				n.mu.Lock()
				defer n.mu.Unlock()
				n.rep.ClosesAcked++
				a.closedAt = time.Now()
				a.winner = bidText(r["winner"])
			})
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

func (n *nemesis) count(f func(*report)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(&n.rep)
}

var (
	hexRun = regexp.MustCompile(`[0-9a-f]{8,}`)
	number = regexp.MustCompile(`\b[0-9]+(\.[0-9]+)?\b`)
)

func (n *nemesis) refused(cmd string, r reply) {
	reason, _ := r["error"].(string)
	reason = number.ReplaceAllString(hexRun.ReplaceAllString(reason, "…"), "N")
	n.mu.Lock()
	defer n.mu.Unlock()
	if cmd == "bid" {
		n.rep.BidsRefused++
	}
	n.rep.RefusalReasons[cmd+": "+reason]++
}

// bidText renders a BID object (or null) as "bidder amount" or "none".
func bidText(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%v %v", m["bidder"], m["amount"])
}

// view is one peer's `show` of one auction.
type view struct {
	status string
	winner string
	bids   []string // "bidder amount", oldest first
}

func (v view) key() string {
	return v.status + "|" + v.winner + "|" + strings.Join(v.bids, ",")
}

// ask sends a read-only command and fails on a missing or refused reply.
func (p *proc) ask(ctx context.Context, cmd string) (reply, error) {
	r := p.do(ctx, cmd, func(reply) {})
	if r == nil {
		return nil, fmt.Errorf("%s: no reply to %q", p.name, cmd)
	}
	if r["ok"] != true {
		return r, fmt.Errorf("%s: %q: %v", p.name, cmd, r["error"])
	}
	return r, nil
}

// digest is one peer's `auctions` summary: id, status, bid count, winner.
func (p *proc) digest(ctx context.Context) (string, error) {
	r, err := p.ask(ctx, "auctions")
	if err != nil {
		return "", err
	}
	list, _ := r["auctions"].([]any)
	var lines []string
	for _, x := range list {
		a, _ := x.(map[string]any)
		lines = append(lines, fmt.Sprintf("%v %v %v %s", a["auction"], a["status"], a["bids"], bidText(a["winner"])))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), nil
}

// converge polls `auctions` on every peer, all at once every 200 ms, until all agree and hold
// every acknowledged open, then reads `show` of every auction on every peer. It returns the views,
// when the last round that still saw a difference started, and the number of rounds.
func (n *nemesis) converge(ctx context.Context) (views []map[string]view, differed time.Time, rounds int, err error) {
	ctx, cancel := context.WithTimeout(ctx, convergeTimeout)
	defer cancel()
	n.mu.Lock()
	want := len(n.auctions)
	n.mu.Unlock()
	var last []string
	differed = time.Now()
	for {
		start := time.Now()
		rounds++
		// One round asks every peer at once, so that it reads the market at about one moment
		// and lasts as long as the slowest peer's answer, not the sum of all eight.
		ds := make([]string, len(n.procs))
		errs := make([]error, len(n.procs))
		var wg sync.WaitGroup
		for i, p := range n.procs {
			wg.Go(func() { ds[i], errs[i] = p.digest(ctx) })
		}
		wg.Wait()
		err = errors.Join(errs...)
		if err == nil && strings.Count(ds[0], "\n")+1 >= want && !slices.ContainsFunc(ds, func(d string) bool { return d != ds[0] }) {
			break
		}
		last, differed = ds, start
		select {
		case <-ctx.Done():
			var sizes []string
			for i, d := range last {
				sizes = append(sizes, fmt.Sprintf("%s:%d", n.procs[i].name, strings.Count(d, "\n")+1))
			}
			return nil, differed, rounds, fmt.Errorf("peers did not agree within %s (auctions held: %s; last error %v)", convergeTimeout, strings.Join(sizes, " "), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	n.mu.Lock()
	ids := make([]string, 0, len(n.auctions))
	for _, a := range n.auctions {
		ids = append(ids, a.id)
	}
	n.mu.Unlock()
	views = make([]map[string]view, len(n.procs))
	for i, p := range n.procs {
		views[i] = map[string]view{}
		for _, id := range ids {
			r, err := p.ask(ctx, "show "+id)
			if err != nil {
				n.violate("acknowledged open %s: %v", id[:12], err)
				continue
			}
			v := view{status: fmt.Sprint(r["status"]), winner: bidText(r["winner"])}
			bl, _ := r["bids"].([]any)
			for _, b := range bl {
				v.bids = append(v.bids, bidText(b))
			}
			views[i][id] = v
		}
	}
	return views, differed, rounds, nil
}

// check verifies the invariants on the converged views.
func (n *nemesis) check(ctx context.Context, views []map[string]view) error {
	n.mu.Lock()
	auctions := slices.Clone(n.auctions)
	acked := slices.Clone(n.acked)
	n.mu.Unlock()
	total := 0
	for _, a := range auctions {
		ref, ok := views[0][a.id]
		if !ok {
			continue // reported by converge
		}
		total += len(ref.bids)
		for i := 1; i < len(views); i++ {
			if v, ok := views[i][a.id]; ok && v.key() != ref.key() {
				n.violate("auction %s differs: %s has %s, %s has %s", a.id[:12], n.procs[0].name, ref.key(), n.procs[i].name, v.key())
			}
		}
		if !a.closedAt.IsZero() {
			if ref.status != "closed" {
				n.violate("acknowledged close of %s lost: status %s", a.id[:12], ref.status)
			}
			if ref.winner != a.winner {
				n.violate("auction %s: the close reply named winner %s but the market holds %s", a.id[:12], a.winner, ref.winner)
			}
		}
		if ref.status == "closed" {
			last := "none"
			if len(ref.bids) > 0 {
				last = ref.bids[len(ref.bids)-1]
			}
			if ref.winner != last {
				n.violate("auction %s: winner %s is not the last accepted bid %s (a bid accepted after the close?)", a.id[:12], ref.winner, last)
			}
		}
	}
	for _, b := range acked {
		want := b.bidder + " " + b.amount
		for i, vs := range views {
			v, ok := vs[b.auction]
			if ok && !slices.Contains(v.bids, want) {
				n.violate("acknowledged bid %s on %s lost on %s", b.amount, b.auction[:12], n.procs[i].name)
			}
		}
	}
	n.mu.Lock()
	n.rep.Auctions, n.rep.BidsInMarket = len(auctions), total
	n.mu.Unlock()
	return nil
}

// sleepCtx waits d or until ctx ends; it reports whether the whole of d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
