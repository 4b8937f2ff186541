package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/auction-tui/auction-tui/peer"
	"github.com/auction-tui/auction-tui/peer/auction"
	"github.com/auction-tui/auction-tui/wire"
)

// maxLine bounds one command line of the headless protocol, in bytes.
const maxLine = 4096

// commandTimeout bounds one headless command.
const commandTimeout = 15 * time.Second

// runHeadless runs a peer that reads commands from stdin and writes NDJSON to stdout: a ready
// line, exactly one reply per command, and every event as it happens.
func runHeadless(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return withPeer(ctx, "headless", args, stderr, func(node *peer.Node, _ *slog.Logger) error {
		h := &headless{node: node, out: newJSONLines(stdout)}
		return h.serve(ctx, stdin)
	})
}

type headless struct {
	node *peer.Node
	out  *jsonLines
}

func (h *headless) serve(ctx context.Context, stdin io.Reader) error {
	evctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := h.node.Subscribe(evctx)
	h.out.write(obj{{"event", "ready"}, {"peer", h.node.Key().String()}, {"name", h.node.Name()}, {"addr", h.node.Addr()}})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range events {
			if o := eventJSON(e); o != nil {
				h.out.write(o)
			}
		}
	}()
	defer wg.Wait()
	defer cancel()

	lines := make(chan lineOrErr)
	go readLines(stdin, lines) // ends at EOF; stdin is not closable, so this reader is not joined
	for {
		var l lineOrErr
		var ok bool
		select {
		case l, ok = <-lines:
		case <-ctx.Done():
			return nil
		}
		if !ok {
			return nil // end of input
		}
		if l.tooLong {
			h.out.write(fail(firstWord(l.text), fmt.Sprintf("line too long: at most %d bytes", maxLine)))
			continue
		}
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		reply, quit := h.command(ctx, l.text)
		h.out.write(reply)
		if quit {
			return nil
		}
	}
}

type lineOrErr struct {
	text    string
	tooLong bool
}

func readLines(r io.Reader, out chan<- lineOrErr) {
	defer close(out)
	br := bufio.NewReaderSize(r, maxLine+1)
	for {
		line, isPrefix, err := br.ReadLine()
		if err != nil {
			return
		}
		l := lineOrErr{text: string(line)}
		if isPrefix {
			l.tooLong = true
			for isPrefix && err == nil { // discard the rest of the line
				_, isPrefix, err = br.ReadLine()
			}
		}
		out <- l
		if err != nil {
			return
		}
	}
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	if len(f[0]) > 32 {
		return f[0][:32]
	}
	return f[0]
}

// command runs one command line and returns its reply, and whether to quit.
func (h *headless) command(ctx context.Context, line string) (obj, bool) {
	args, err := splitArgs(line)
	if err != nil {
		return fail(firstWord(line), err.Error()), false
	}
	cmd, args := args[0], args[1:]
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	switch cmd {
	case "open":
		return h.open(ctx, args), false
	case "bid":
		return h.bid(ctx, args), false
	case "close":
		return h.close(ctx, args), false
	case "auctions":
		if len(args) != 0 {
			return fail(cmd, "usage: auctions"), false
		}
		list := []any{}
		for _, a := range h.node.Auctions() {
			list = append(list, auctionJSON(a))
		}
		return ok(cmd, kv{"auctions", list}), false
	case "show":
		if len(args) != 1 {
			return fail(cmd, "usage: show <auction>"), false
		}
		a, err := h.node.Auction(args[0])
		if err != nil {
			return fail(cmd, errText(err)), false
		}
		bids := []any{}
		for _, b := range a.Bids {
			bids = append(bids, bidJSON(&b))
		}
		// The contract's show reply is the auction object with "bids" as the list of bids.
		fields := auctionJSON(a)
		for i := range fields {
			if fields[i].k == "bids" {
				fields[i].v = bids
			}
		}
		return append(ok(cmd), fields...), false
	case "peers":
		if len(args) != 0 {
			return fail(cmd, "usage: peers"), false
		}
		list := []any{}
		for _, p := range h.node.Peers() {
			list = append(list, obj{{"peer", p.Key.String()}, {"name", p.Name}, {"addr", p.Addr}, {"connected", p.Connected}})
		}
		return ok(cmd, kv{"peers", list}), false
	case "quit":
		return ok(cmd), true
	}
	return fail(cmd, fmt.Sprintf("unknown command %q (commands: open, bid, close, auctions, show, peers, quit)", cmd)), false
}

func (h *headless) open(ctx context.Context, args []string) obj {
	const cmd = "open"
	if len(args) < 2 || len(args) > 3 {
		return fail(cmd, "usage: open <item> <price> [<duration>]")
	}
	price, err := wire.ParseAmount(args[1])
	if err != nil {
		return fail(cmd, errText(err))
	}
	var d time.Duration
	if len(args) == 3 {
		d, err = time.ParseDuration(args[2])
		if err != nil || d <= 0 {
			return fail(cmd, fmt.Sprintf("bad duration %q: use a positive duration like 90s or 5m", args[2]))
		}
	}
	a, err := h.node.Open(ctx, args[0], price, d)
	if err != nil {
		return fail(cmd, errText(err))
	}
	return ok(cmd, kv{"auction", a.ID.String()})
}

func (h *headless) bid(ctx context.Context, args []string) obj {
	const cmd = "bid"
	if len(args) != 2 {
		return fail(cmd, "usage: bid <auction> <amount>")
	}
	amount, err := wire.ParseAmount(args[1])
	if err != nil {
		return fail(cmd, errText(err))
	}
	b, err := h.node.Bid(ctx, args[0], amount)
	if err != nil {
		return fail(cmd, errText(err))
	}
	return ok(cmd, kv{"auction", b.Signed.Auction.String()}, kv{"amount", b.Amount.String()})
}

func (h *headless) close(ctx context.Context, args []string) obj {
	const cmd = "close"
	if len(args) != 1 {
		return fail(cmd, "usage: close <auction>")
	}
	a, err := h.node.CloseAuction(ctx, args[0])
	if err != nil {
		return fail(cmd, errText(err))
	}
	return ok(cmd, kv{"auction", a.ID.String()}, kv{"winner", bidOrNull(a.Winner)})
}

// errText is the user-facing text of an engine error.
func errText(err error) string {
	var re *peer.RejectedError
	if errors.As(err, &re) {
		return re.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	s := err.Error()
	for _, p := range []string{"peer: bad input: ", "peer: ", "auction: ", "wire: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// splitArgs splits a command line into words; a word may be in double quotes, with \" and \\
// escapes inside.
func splitArgs(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
			i++
			cur.WriteByte(line[i])
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '"':
			if inWord && cur.Len() > 0 {
				return nil, errors.New("a quote may only start a word")
			}
			quoted, inWord = true, true
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, errors.New("empty command")
	}
	return out, nil
}

// kv is one field of an ordered JSON object.
type kv struct {
	k string
	v any
}

// obj is a JSON object whose fields keep their order.
type obj []kv

// MarshalJSON writes the fields in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func ok(cmd string, fields ...kv) obj {
	return append(obj{{"reply", cmd}, {"ok", true}}, fields...)
}

func fail(cmd, reason string) obj {
	return obj{{"reply", cmd}, {"ok", false}, {"error", reason}}
}

func bidJSON(b *auction.Bid) obj {
	return obj{{"bidder", b.Bidder.String()}, {"bidder_name", b.BidderName}, {"amount", b.Amount.String()}}
}

func bidOrNull(b *auction.Bid) any {
	if b == nil {
		return nil
	}
	return bidJSON(b)
}

func auctionJSON(a auction.Auction) obj {
	var ends any
	if !a.EndsAt.IsZero() {
		ends = a.EndsAt.UTC().Format(time.RFC3339)
	}
	return obj{
		{"auction", a.ID.String()}, {"item", a.Item}, {"seller", a.Seller.String()},
		{"seller_name", a.SellerName}, {"price", a.Price.String()}, {"currency", wire.Currency},
		{"status", string(a.Status)}, {"bids", len(a.Bids)}, {"highest", bidOrNull(a.Highest())},
		{"winner", bidOrNull(a.Winner)}, {"ends_at", ends},
	}
}

// eventJSON renders an engine event in the headless protocol, or nil for events it does not show.
func eventJSON(e peer.Event) obj {
	switch e.Kind {
	case peer.EventPeerConnected, peer.EventPeerDisconnected, peer.EventEquivocation:
		return obj{{"event", e.Kind.String()}, {"peer", e.Peer.Key.String()}, {"name", e.Peer.Name}}
	case peer.EventAuctionOpened:
		return append(obj{{"event", e.Kind.String()}}, auctionJSON(e.Auction)...)
	case peer.EventBidAccepted:
		return obj{{"event", e.Kind.String()}, {"auction", e.Auction.ID.String()}, {"bidder", e.Bid.Bidder.String()},
			{"bidder_name", e.Bid.BidderName}, {"amount", e.Bid.Amount.String()}}
	case peer.EventAuctionClosed:
		return obj{{"event", e.Kind.String()}, {"auction", e.Auction.ID.String()}, {"item", e.Auction.Item},
			{"winner", bidOrNull(e.Auction.Winner)}}
	}
	return nil
}

// jsonLines writes one JSON value per line, each line whole even with concurrent writers.
type jsonLines struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newJSONLines(w io.Writer) *jsonLines { return &jsonLines{w: bufio.NewWriter(w)} }

func (j *jsonLines) write(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"event":"error","error":"cannot encode output"}`)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.w.Write(b)
	j.w.WriteByte('\n')
	j.w.Flush()
}
