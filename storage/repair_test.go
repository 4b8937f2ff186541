package storage

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// newestDataFile returns the path of the newest nutsdb data file in dir and the end of its data
// (the committed end as scanned).
func newestDataFile(t *testing.T, dir string) (string, int64) {
	t.Helper()
	ids, err := dataFiles(dir)
	if err != nil || len(ids) == 0 {
		t.Fatalf("data files: %v %v", ids, err)
	}
	path := filepath.Join(dir, strconv.FormatInt(ids[len(ids)-1], 10)+".dat")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	res, err := scanFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	return path, res.committedEnd
}

func TestTornTail(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, f *os.File, end int64)
		lost   bool // the last commit is lost (else only garbage after it is cut)
	}{
		{"zeroes over the last record's tail", func(t *testing.T, f *os.File, end int64) {
			writeAt(t, f, make([]byte, 40), end-40)
		}, true},
		{"garbage over the last record's tail", func(t *testing.T, f *os.File, end int64) {
			writeAt(t, f, bytes.Repeat([]byte{0xA5, 0x17, 0xFF}, 30), end-50)
		}, true},
		{"garbage after the last record", func(t *testing.T, f *os.File, end int64) {
			writeAt(t, f, bytes.Repeat([]byte{0x5A}, 300), end)
		}, false},
		{"half a record appended (cut mid-record)", func(t *testing.T, f *os.File, end int64) {
			// Copy the first half of the last committed record to the end: a torn write.
			buf := make([]byte, 120)
			if _, err := f.ReadAt(buf, end-240); err != nil {
				t.Fatal(err)
			}
			writeAt(t, f, buf, end)
		}, false},
		{"file cut mid-record", func(t *testing.T, f *os.File, end int64) {
			if err := f.Truncate(end - 30); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, s.Own(), 0, 100)
			appendN(t, s.Own(), 100, 3) // the last commit: 3 entries + head records
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			path, end := newestDataFile(t, dir)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, f, end)
			_ = f.Close()

			s2 := openT(t, dir)
			want := uint64(103)
			if tc.lost {
				want = 100
			}
			checkLog(t, s2.Own(), want)
			reps := s2.Repairs()
			if len(reps) == 0 && tc.name != "file cut mid-record" {
				t.Fatalf("no repair reported")
			}
			for _, r := range reps {
				if r.File != "" {
					if r.CutBytes <= 0 {
						t.Fatalf("repair %+v", r)
					}
					if b, err := os.ReadFile(filepath.Join(dir, r.CutFile)); err != nil || int64(len(b)) != r.CutBytes {
						t.Fatalf("cut file %s: %d bytes, %v", r.CutFile, len(b), err)
					}
				}
			}
			// The log keeps working after the repair and survives another reopen.
			appendN(t, s2.Own(), int(want), 5)
			if err := s2.Close(); err != nil {
				t.Fatal(err)
			}
			s3 := openT(t, dir)
			checkLog(t, s3.Own(), want+5)
			if len(s3.Repairs()) != 0 {
				t.Fatalf("repairs on second reopen: %+v", s3.Repairs())
			}
		})
	}
}

func writeAt(t *testing.T, f *os.File, b []byte, off int64) {
	t.Helper()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

const crashEnv = "STORAGE_CRASH_CHILD"

// TestCrashChild is the child process of TestCrash: it appends forever from a few goroutines,
// mixing single and batched appends, and prints "first count" for every acknowledged append.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child of TestCrash only")
	}
	s, err := Open(dir)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), uint64(os.Getpid())))
			for {
				n := 1
				if r.IntN(3) == 0 {
					n = 1 + r.IntN(64)
				}
				es := make([][]byte, n)
				for i := range es {
					es[i] = crashEntry(r.Uint64())
				}
				first, _, err := s.Own().Append(context.Background(), es...)
				if err != nil {
					fmt.Println("ERR", err)
					os.Exit(3)
				}
				mu.Lock()
				for i, e := range es {
					fmt.Fprintf(out, "%d %x .\n", first+uint64(i), e)
				}
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func crashEntry(v uint64) []byte {
	return fmt.Appendf(nil, "crash-%016x-%s", v, strings.Repeat("y", int(v%100)))
}

// TestCrash kills a child process (SIGKILL) that appends in a loop after a random number of
// acknowledged appends, reopens the folder and checks that every acknowledged entry is there with
// its content and that the log verifies against its signed head. STORAGE_CRASHES sets the
// number of crashes (default 50, 15 under -race).
func TestCrash(t *testing.T) {
	crashes := 50
	if raceEnabled {
		crashes = 15 // race-built children are ~5x slower; keep the package under a minute
	}
	if v := os.Getenv("STORAGE_CRASHES"); v != "" {
		crashes, _ = strconv.Atoi(v)
	}
	if testing.Short() {
		crashes = 5
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	acked := map[uint64]string{}
	var totalAcks, repairs int
	var roundStart uint64
	start := time.Now()
	for c := range crashes {
		waitFor := 1 + r.IntN(400)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		lines := 0
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "ERR") {
				t.Fatalf("crash %d: child: %s", c, line)
			}
			idx, hexe, ok := parseAck(line)
			if !ok {
				continue // test framework output or a line cut by the kill
			}
			acked[idx] = hexe
			lines++
			totalAcks++
			if lines == waitFor {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		// Read what the child printed before dying: those were acknowledged too.
		for sc.Scan() {
			if idx, hexe, ok := parseAck(sc.Text()); ok {
				acked[idx] = hexe
				totalAcks++
			}
		}
		_ = cmd.Wait()

		s, err := Open(dir)
		if err != nil {
			t.Fatalf("crash %d: reopen: %v", c, err)
		}
		repairs += len(s.Repairs())
		own := s.Own()
		n := own.Len()
		if h := own.Head(); h.Length != n || h.Verify() != nil {
			t.Fatalf("crash %d: head %d does not verify", c, h.Length)
		}
		if root, err := own.RootAt(n); err != nil || root != own.Head().Root {
			t.Fatalf("crash %d: root mismatch: %v", c, err)
		}
		for idx := range acked {
			if idx >= n {
				t.Fatalf("crash %d: acknowledged entry %d missing (length %d)", c, idx, n)
			}
		}
		// Check the content of this round's entries each time, and of all at the end.
		from := roundStart
		if c == crashes-1 {
			from = 0
		}
		for s0 := from; s0 < n; s0 += MaxRange {
			es, err := own.Range(s0, min(n, s0+MaxRange))
			if err != nil {
				t.Fatal(err)
			}
			for j, e := range es {
				if want, ok := acked[s0+uint64(j)]; ok && fmt.Sprintf("%x", e) != want {
					t.Fatalf("crash %d: entry %d content differs: got %x want %s", c, s0+uint64(j), e, want)
				}
			}
		}
		if c == crashes-1 {
			if err := own.Verify(context.Background()); err != nil {
				t.Fatalf("full verify: %v", err)
			}
		}
		roundStart = n
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("crashes=%d acknowledged=%d distinct=%d repairs=%d time=%v", crashes, totalAcks, len(acked), repairs, time.Since(start).Round(time.Millisecond))
}

// parseAck parses a complete acknowledgement line "index hex .".
func parseAck(line string) (uint64, string, bool) {
	f := strings.Fields(line)
	if len(f) != 3 || f[2] != "." {
		return 0, "", false
	}
	idx, err := strconv.ParseUint(f[0], 10, 64)
	return idx, f[1], err == nil
}
