//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/sys/unix"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/dht"
	"github.com/auction-tui/auction-tui/tui"
	"github.com/auction-tui/auction-tui/wire"
)

// The benchmarks in this file measure start to first frame, the goal being within 300 ms:
//
//   - BenchmarkStartupProcess: from starting the auction-tui process (a build without -race) on
//     a pseudo-terminal of 120x36 to the first frame on it, and to the first frame showing the
//     auctions held on disk. The test answers the terminal queries a real terminal answers
//     (background colour, cursor position), so none of them waits for a timeout.
//   - BenchmarkStartupInProcess: from peer.New (opening the data folder, replaying its logs,
//     listening, joining the DHT) and tea.NewProgram to the same two frames, in one process.
//
// Both start a peer whose data folder already holds startupAuctions auctions (its own log,
// replayed at every start) and that joins a live in-process bootstrap node. Each reports the
// median of its iterations in ms as custom metrics; run them with a fixed count, e.g.
// go test -run '^$' -bench Startup -benchtime 20x .

// startupAuctions is how many auctions the benchmark peer's data folder holds.
const startupAuctions = 200

// startupWait bounds each wait for a frame.
const startupWait = 20 * time.Second

var (
	benchBuildOnce sync.Once
	benchBinPath   string
	benchBuildErr  error
)

// benchBinary builds auction-tui once without the race detector, as users run it.
func benchBinary(b *testing.B) string {
	b.Helper()
	benchBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "auction-tui-bench-")
		if err != nil {
			benchBuildErr = err
			return
		}
		benchBinPath = filepath.Join(dir, "auction-tui")
		if out, err := exec.Command("go", "build", "-o", benchBinPath, ".").CombinedOutput(); err != nil {
			benchBuildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if benchBuildErr != nil {
		b.Fatal(benchBuildErr)
	}
	return benchBinPath
}

// startupMarket starts a bootstrap node and fills a data folder with startupAuctions auctions
// of its peer; it returns the bootstrap address, the folder and the text of the frame that lists
// them all (the auctions pane's title).
func startupMarket(b *testing.B) (boot, dir, listed string) {
	b.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	bn, err := dht.ListenBootstrap("127.0.0.1:0", priv)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bn.Close() })
	addr, ok := bn.LocalAddr()
	if !ok {
		b.Fatal("the bootstrap node has no address")
	}
	boot, dir = addr.String(), b.TempDir()
	ctx := context.Background()
	n, err := peer.New(ctx, peer.WithDataDir(dir), peer.WithName("bench"), peer.WithListen("127.0.0.1:0"),
		peer.WithBootstrap(boot), peer.WithMarket("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	// Concurrent opens share group commits, so filling the folder takes a few fsyncs.
	var wg sync.WaitGroup
	errs := make(chan error, startupAuctions)
	for i := range startupAuctions {
		wg.Go(func() {
			if _, err := n.Open(ctx, fmt.Sprintf("Item %03d", i), wire.Amount(1_000_000+i), 0); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return boot, dir, fmt.Sprintf("Auctions %d ", startupAuctions)
}

// frameMark is text of every frame of the benchmark peer (its status bar): its first
// appearance in the output is the first frame.
const frameMark = "│ market bench"

// frameWatch is an output that reports when the first frame (frameMark) and the frame listing
// the auctions (want) arrive.
type frameWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  []byte
	first chan struct{} // closed once frameMark was written
	data  chan struct{} // closed once want was written
}

func newFrameWatch(want string) *frameWatch {
	return &frameWatch{want: []byte(want), first: make(chan struct{}), data: make(chan struct{})}
}

func (w *frameWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, c := range []struct {
		ch   chan struct{}
		mark []byte
	}{{w.first, []byte(frameMark)}, {w.data, w.want}} {
		select {
		case <-c.ch:
		default:
			if bytes.Contains(w.buf.Bytes(), c.mark) {
				close(c.ch)
			}
		}
	}
	return len(p), nil
}

// waitFrames waits for the first frame and the data frame, returning both delays from start.
func (w *frameWatch) waitFrames(b *testing.B, start time.Time) (first, data time.Duration) {
	b.Helper()
	deadline := time.After(startupWait)
	for _, step := range []struct {
		ch  chan struct{}
		out *time.Duration
	}{{w.first, &first}, {w.data, &data}} {
		select {
		case <-step.ch:
			*step.out = time.Since(start)
		case <-deadline:
			w.mu.Lock()
			defer w.mu.Unlock()
			b.Fatalf("no frame within %s; output so far:\n%q", startupWait, w.buf.String())
		}
	}
	return first, data
}

// median returns the median of ds in ms.
func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

// openPTY opens a pseudo-terminal pair sized cols x rows (Linux /dev/ptmx).
func openPTY(cols, rows uint16) (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*os.File, *os.File, error) { master.Close(); return nil, nil, err }
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fail(fmt.Errorf("unlock pty: %w", err))
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fail(fmt.Errorf("pty number: %w", err))
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fail(err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows}); err != nil {
		slave.Close()
		return fail(fmt.Errorf("pty size: %w", err))
	}
	return master, slave, nil
}

// terminalAnswers are the answers a terminal gives to the queries a program may send at start:
// OSC 11 (background colour) and CSI 6n (cursor position).
var terminalAnswers = []struct{ query, answer []byte }{
	{[]byte("\x1b]11;?"), []byte("\x1b]11;rgb:0000/0000/0000\x1b\\")},
	{[]byte("\x1b[6n"), []byte("\x1b[1;1R")},
}

// readTerminal copies the program's output from master into w, answering queries as a terminal
// does, until master is closed.
func readTerminal(master *os.File, w *frameWatch) {
	buf := make([]byte, 32<<10)
	for {
		n, err := master.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
			for _, qa := range terminalAnswers {
				for range bytes.Count(buf[:n], qa.query) {
					master.Write(qa.answer)
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// stopWait bounds how long the TUI may take to exit after q before it is made to dump its
// goroutines and exit.
const stopWait = 10 * time.Second

// quitTUI presses q on the terminal and waits for the exit; a process still running after
// stopWait gets SIGQUIT (a goroutine dump on its stderr) and the error says so. (q, not SIGTERM: the
// binary's own signal handling is not under test here.)
func quitTUI(cmd *exec.Cmd, master *os.File) error {
	if _, err := master.Write([]byte("q")); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(stopWait):
		cmd.Process.Signal(syscall.SIGQUIT)
		err := <-done
		return fmt.Errorf("still running %s after q (sent SIGQUIT: %v)", stopWait, err)
	}
}

// BenchmarkStartupProcess starts the auction-tui binary (TUI mode, on a pseudo-terminal) per
// iteration and measures the time to its first frame and to the first frame listing the
// auctions on disk.
func BenchmarkStartupProcess(b *testing.B) {
	bin := benchBinary(b)
	boot, dir, listed := startupMarket(b)
	var firsts, datas []time.Duration
	for b.Loop() {
		w := newFrameWatch(listed)
		master, slave, err := openPTY(120, 36)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bin, "--data", dir, "--name", "bench", "--bootstrap", boot,
			"--listen", "127.0.0.1:0", "--market", "bench")
		cmd.Env = append(os.Environ(), "TERM=xterm-256color")
		cmd.Stdin, cmd.Stdout = slave, slave
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		read := make(chan struct{})
		go func() { defer close(read); readTerminal(master, w) }()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		slave.Close()
		first, data := w.waitFrames(b, start)
		firsts, datas = append(firsts, first), append(datas, data)
		b.StopTimer()
		err = quitTUI(cmd, master)
		master.Close()
		<-read
		if err != nil {
			b.Fatalf("auction-tui exit: %v\n%s", err, stderr.Bytes())
		}
		b.StartTimer()
	}
	b.ReportMetric(median(firsts), "ms-first-frame")
	b.ReportMetric(median(datas), "ms-auctions-frame")
}

// BenchmarkStartupInProcess measures peer.New plus tea.NewProgram to the first frame and to the
// first frame listing the auctions held on disk, with the output written to memory.
func BenchmarkStartupInProcess(b *testing.B) {
	boot, dir, listed := startupMarket(b)
	var news, firsts, datas []time.Duration
	for b.Loop() {
		w := newFrameWatch(listed)
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		n, err := peer.New(ctx, peer.WithDataDir(dir), peer.WithName("bench"), peer.WithListen("127.0.0.1:0"),
			peer.WithBootstrap(boot), peer.WithMarket("bench"))
		if err != nil {
			b.Fatal(err)
		}
		news = append(news, time.Since(start))
		p := tea.NewProgram(tui.New(n, tui.WithContext(ctx)), tea.WithContext(ctx), tea.WithInput(nil),
			tea.WithOutput(w), tea.WithoutSignalHandler())
		done := make(chan error, 1)
		go func() { _, err := p.Run(); done <- err }()
		first, data := w.waitFrames(b, start)
		firsts, datas = append(firsts, first), append(datas, data)
		b.StopTimer()
		p.Quit()
		<-done
		cancel()
		n.Close()
		b.StartTimer()
	}
	b.ReportMetric(median(news), "ms-peer.New")
	b.ReportMetric(median(firsts), "ms-first-frame")
	b.ReportMetric(median(datas), "ms-auctions-frame")
}

var _ io.Writer = (*frameWatch)(nil)
