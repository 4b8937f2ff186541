package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRPCRequestRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		payload []byte
	}{
		{"empty payload", "ping", nil},
		{"small", "auction/bid", []byte("hello")},
		{"max method", strings.Repeat("m", MaxRPCMethodLen), []byte{0, 1, 2}},
		{"all method chars", "aZ09._-/:", bytes.Repeat([]byte{0xff}, 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := AppendRPCRequest(nil, tt.method, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if len(f) != RPCRequestFrameSize(tt.method, tt.payload) {
				t.Fatalf("size %d, want %d", len(f), RPCRequestFrameSize(tt.method, tt.payload))
			}
			m, p, err := UnmarshalRPCRequestFrame(f, DefaultRPCPayload)
			if err != nil {
				t.Fatal(err)
			}
			if m != tt.method || !bytes.Equal(p, tt.payload) {
				t.Fatalf("got %q %x", m, p)
			}
		})
	}
}

func TestRPCRequestRejects(t *testing.T) {
	good, _ := AppendRPCRequest(nil, "echo", []byte("x"))
	tests := []struct {
		name  string
		frame []byte
	}{
		{"empty", nil},
		{"short prefix", []byte{0, 0, 0}},
		{"zero body", []byte{0, 0, 0, 0}},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"truncated", good[:len(good)-1]},
		{"zero method length", []byte{0, 0, 0, 1, 0}},
		{"method too long", append([]byte{0, 0, 0, 66, 65}, bytes.Repeat([]byte{'a'}, 65)...)},
		{"method truncated", []byte{0, 0, 0, 2, 5, 'a'}},
		{"bad method byte", []byte{0, 0, 0, 3, 2, 'a', ' '}},
		{"oversized prefix", []byte{0xff, 0xff, 0xff, 0xff, 1, 'a'}},
		{"payload over max", append([]byte{0, 0, 0, 10, 1, 'a'}, make([]byte, 8)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := UnmarshalRPCRequestFrame(tt.frame, 4); err == nil {
				t.Fatalf("accepted %x", tt.frame)
			}
		})
	}
	if _, err := AppendRPCRequest(nil, "", nil); err == nil {
		t.Fatal("empty method encoded")
	}
	if _, err := AppendRPCRequest(nil, "a b", nil); err == nil {
		t.Fatal("method with space encoded")
	}
}

func TestParseRPCLenChecksBeforeAllocating(t *testing.T) {
	_, err := ParseRPCLen([]byte{0x01, 0, 0, 0}, 1000)
	var tl *FrameTooLargeError
	if !errors.As(err, &tl) || tl.Size != 1<<24 || tl.Max != 1000 {
		t.Fatalf("err = %v", err)
	}
	n, err := ParseRPCLen([]byte{0, 0, 3, 0xe8}, 1000)
	if err != nil || n != 1000 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestRPCResponseRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		status RPCStatus
		body   []byte
	}{
		{"ok empty", StatusOK, nil},
		{"ok", StatusOK, []byte("answer")},
		{"rejected", StatusRejected, []byte("bid too low")},
		{"internal max message", StatusInternal, bytes.Repeat([]byte("é"), MaxRPCErrorLen/2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := AppendRPCResponse(nil, tt.status, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(f) != RPCResponseFrameSize(tt.body) {
				t.Fatal("size mismatch")
			}
			st, b, err := UnmarshalRPCResponseFrame(f, DefaultRPCPayload)
			if err != nil {
				t.Fatal(err)
			}
			if st != tt.status || !bytes.Equal(b, tt.body) {
				t.Fatalf("got %d %q", st, b)
			}
		})
	}
}

func TestRPCResponseRejects(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
	}{
		{"unknown status", []byte{0, 0, 0, 1, 8}},
		{"bad utf8 message", []byte{0, 0, 0, 2, 3, 0xff}},
		{"message too long", append([]byte{0, 0, 4, 2, 3}, bytes.Repeat([]byte{'a'}, MaxRPCErrorLen+1)...)},
		{"payload over max", append([]byte{0, 0, 0, 6, 0}, make([]byte, 5)...)},
		{"trailing", []byte{0, 0, 0, 1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := UnmarshalRPCResponseFrame(tt.frame, 4); err == nil {
				t.Fatalf("accepted %x", tt.frame)
			}
		})
	}
	if _, err := AppendRPCResponse(nil, StatusRejected, []byte{0xff}); err == nil {
		t.Fatal("invalid UTF-8 message encoded")
	}
}

func TestTruncateRPCError(t *testing.T) {
	long := strings.Repeat("é", MaxRPCErrorLen) // 2 bytes per rune
	got := TruncateRPCError(long)
	if len(got) > MaxRPCErrorLen || !strings.HasPrefix(long, got) {
		t.Fatalf("len %d", len(got))
	}
	if got := TruncateRPCError("a\xffb"); got != "a\uFFFDb" {
		t.Fatalf("got %q", got)
	}
}

const fuzzMaxPayload = 1 << 10

func FuzzRPCRequestFrame(f *testing.F) {
	for _, s := range []struct {
		m string
		p []byte
	}{{"echo", []byte("hello")}, {"a", nil}, {strings.Repeat("x", MaxRPCMethodLen), []byte{0}}} {
		b, _ := AppendRPCRequest(nil, s.m, s.p)
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, p, err := UnmarshalRPCRequestFrame(frame, fuzzMaxPayload)
		if err != nil {
			return
		}
		if len(p) > fuzzMaxPayload || !ValidRPCMethod(m) {
			t.Fatalf("accepted out-of-limit frame %x", frame)
		}
		re, err := AppendRPCRequest(nil, m, p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, frame) {
			t.Fatalf("non-canonical: %x re-encodes as %x", frame, re)
		}
	})
}

func FuzzRPCResponseFrame(f *testing.F) {
	for _, s := range []struct {
		st RPCStatus
		b  []byte
	}{{StatusOK, []byte("pong")}, {StatusRejected, []byte("too low")}, {StatusTimeout, nil}} {
		b, _ := AppendRPCResponse(nil, s.st, s.b)
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 2, 3, 0xff})
	f.Fuzz(func(t *testing.T, frame []byte) {
		st, b, err := UnmarshalRPCResponseFrame(frame, fuzzMaxPayload)
		if err != nil {
			return
		}
		re, err := AppendRPCResponse(nil, st, b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, frame) {
			t.Fatalf("non-canonical: %x re-encodes as %x", frame, re)
		}
	})
}
