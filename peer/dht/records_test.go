package dht

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// fakeClock is a wall clock the test moves forward; timeouts still use the monotonic clock.
type fakeClock struct{ off atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.off.Add(int64(d)) }

func TestRecordsExpire(t *testing.T) {
	clk := &fakeClock{}
	tn := startTestnet(t, 12, WithClock(clk.now), WithRecordTTL(time.Minute))
	ctx := t.Context()
	topic := TopicOf("expiry")
	if err := tn.Nodes[4].Announce(ctx, topic, addrs(4)); err != nil {
		t.Fatal(err)
	}
	if recs, err := tn.Nodes[9].Lookup(ctx, topic); err != nil || len(recs) != 1 {
		t.Fatalf("before expiry: %v, %v", recs, err)
	}
	clk.advance(59 * time.Second)
	if recs, _ := tn.Nodes[9].Lookup(ctx, topic); len(recs) != 1 {
		t.Fatalf("at 59 s: %d records", len(recs))
	}
	clk.advance(2 * time.Second)
	if recs, err := tn.Nodes[9].Lookup(ctx, topic); err != nil || len(recs) != 0 {
		t.Fatalf("after expiry: %v, %v", recs, err)
	}
	// Join re-announces: the record is back at once and survives.
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tn.Nodes[4].Join(jctx, topic, func() []netip.AddrPort { return addrs(44) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, _ := tn.Nodes[9].Lookup(ctx, topic)
		if len(recs) == 1 && recs[0].Addrs[0].Port() == 44 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Join did not announce")
		}
	}
}

func TestRejoinFromStateFile(t *testing.T) {
	tn := startTestnet(t, 15)
	ctx := t.Context()
	dir := t.TempDir()
	state := filepath.Join(dir, "dht.json")
	_, priv, _ := ed25519.GenerateKey(nil)
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	n1, err := New(priv, UDP(listen()), WithBootstrap(tn.Bootstrap()), WithStateFile(state))
	if err != nil {
		t.Fatal(err)
	}
	if err := n1.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	tn.Kill(0) // the bootstrap node is gone
	n2, err := New(priv, UDP(listen()), WithBootstrap(tn.Bootstrap()), WithStateFile(state))
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if err := n2.Bootstrap(ctx); err != nil {
		t.Fatalf("rejoin without the bootstrap node: %v", err)
	}
	if n2.Size() < 5 {
		t.Fatalf("table of %d nodes after rejoin", n2.Size())
	}
	topic := TopicOf("rejoin")
	// Announce from the live node with the largest table: a node that bootstrapped among the
	// first may know little more than the bootstrap node and n1, both gone now.
	ann := 1
	for i := 2; i < len(tn.Nodes); i++ {
		if tn.Nodes[i].Size() > tn.Nodes[ann].Size() {
			ann = i
		}
	}
	if err := tn.Nodes[ann].Announce(ctx, topic, addrs(3)); err != nil {
		t.Fatal(err)
	}
	if recs, err := n2.Lookup(ctx, topic); err != nil || len(recs) != 1 {
		t.Fatalf("lookup after rejoin: %v, %v", recs, err)
	}
}

// rawAnnounce sends an announce datagram from conn to node and returns the reply status.
func rawAnnounce(t *testing.T, conn *net.UDPConn, to netip.AddrPort, req *wire.DHTRequest) wire.DHTStatus {
	t.Helper()
	b, err := wire.AppendDHTRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	nb, _, err := conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := wire.DecodeDHTReply(buf[:nb])
	if err != nil || wire.VerifyDHTReply(buf[:nb], rep) != nil || rep.ID != req.ID {
		t.Fatalf("bad reply: %v", err)
	}
	return rep.Status
}

func TestAnnounceSpoofing(t *testing.T) {
	tn := startTestnet(t, 3)
	target, _ := tn.Nodes[1].LocalAddr()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	topic := TopicOf("spoof")
	_, owner, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)

	// A ping gives this socket's address a valid token.
	ping := &wire.DHTRequest{Kind: wire.DHTFindNode, ID: wire.DHTRequestID{1}, Target: topic}
	b, _ := wire.AppendDHTRequest(nil, ping)
	conn.WriteToUDPAddrPort(b, target)
	buf := make([]byte, 2048)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	nb, _, err := conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := wire.DecodeDHTReply(buf[:nb])
	if err != nil {
		t.Fatal(err)
	}
	token := rep.Token

	mk := func(signer, prover ed25519.PrivateKey, tok wire.DHTToken, expiry time.Time, id byte) *wire.DHTRequest {
		rec := wire.DHTRecord{Expiry: expiry.UnixMilli(), Addrs: addrs(9)}
		if err := wire.SignDHTRecord(signer, topic, &rec); err != nil {
			t.Fatal(err)
		}
		req := &wire.DHTRequest{Kind: wire.DHTAnnounce, ID: wire.DHTRequestID{id}, Target: topic, Token: tok, Record: rec}
		req.Proof = wire.Sign(prover, wire.DomainRecord, wire.AnnounceProofMessage(req.ID, req.Token, topic, rec.Sig))
		return req
	}
	soon := time.Now().Add(time.Minute)
	badSig := mk(owner, owner, token, soon, 5)
	badSig.Record.Sig[0] ^= 1
	cases := []struct {
		name string
		req  *wire.DHTRequest
		want wire.DHTStatus
	}{
		{"no token", mk(owner, owner, wire.DHTToken{}, soon, 2), wire.DHTBadToken},
		{"key not owned by sender", mk(owner, other, token, soon, 3), wire.DHTBadRecord},
		{"expired", mk(owner, owner, token, time.Now().Add(-time.Second), 4), wire.DHTBadRecord},
		{"bad record signature", badSig, wire.DHTBadRecord},
		{"too far ahead", mk(owner, owner, token, time.Now().Add(MaxRecordTTL+2*MaxClockSkew), 6), wire.DHTBadRecord},
		{"valid", mk(owner, owner, token, soon, 7), wire.DHTOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := rawAnnounce(t, conn, target, c.req); got != c.want {
				t.Fatalf("status %v, want %v", got, c.want)
			}
		})
	}
	// A valid announce replayed from another address fails: the token is bound to the address.
	conn2, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn2.Close() })
	if got := rawAnnounce(t, conn2, target, mk(owner, owner, token, soon, 8)); got != wire.DHTBadToken {
		t.Fatalf("replayed from another address: %v", got)
	}
	if tn.Nodes[1].Stats().Records != 1 {
		t.Fatalf("stored %d records, want 1", tn.Nodes[1].Stats().Records)
	}
	_ = errors.New
}

func TestTableSubnetLimit(t *testing.T) {
	var self ID
	tab := newTable(self, DefaultK, time.Now())
	now := time.Now()
	// 200 identities from one /24 (and 200 from one IPv6 /64).
	for i := range 400 {
		_, priv, _ := ed25519.GenerateKey(nil)
		ip := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		if i >= 200 {
			ip = netip.MustParseAddr("2001:db8::").Next()
			for range i {
				ip = ip.Next()
			}
		}
		tab.seen(wire.KeyOf(priv), netip.AddrPortFrom(ip, 4000), time.Millisecond, now, time.Hour)
	}
	for i, b := range tab.buckets {
		if b == nil {
			continue
		}
		for _, list := range [][]*contact{b.nodes, b.repl} {
			count := map[netip.Prefix]int{}
			for _, c := range list {
				p, _ := subnetKey(c.addr)
				count[p]++
			}
			for p, c := range count {
				if c > MaxPerSubnet {
					t.Fatalf("bucket %d holds %d nodes of %v", i, c, p)
				}
			}
		}
	}
	if tab.n > 2*MaxPerSubnet*16 {
		t.Fatalf("%d nodes from two subnets", tab.n)
	}
	// Loopback is exempt.
	tab2 := newTable(self, DefaultK, now)
	for i := range 50 {
		_, priv, _ := ed25519.GenerateKey(nil)
		tab2.seen(wire.KeyOf(priv), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(2000+i)), 0, now, time.Hour)
	}
	if tab2.n < 20 {
		t.Fatalf("loopback nodes limited: %d", tab2.n)
	}
}

func TestOptionsValidated(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	conn, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer conn.Close()
	for _, o := range []Option{WithK(1), WithK(21), WithAlpha(2), WithAlpha(11), WithRecordTTL(0), WithRecordTTL(2 * time.Hour)} {
		if _, err := New(priv, UDP(conn), o); !errors.Is(err, ErrInvalidOption) {
			t.Fatalf("err = %v", err)
		}
	}
}

// TestCollectChecksEachRecord: a lookup reply cannot pass off a record under a signature made
// for another one (other addresses, a later expiry, another topic), whether or not the genuine
// record was seen first in the same lookup or an earlier one, and the remembered verdicts stay
// bounded.
func TestCollectChecksEachRecord(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_, priv, _ := ed25519.GenerateKey(nil)
	n, err := New(priv, UDP(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	topic := TopicOf("market")
	_, owner, _ := ed25519.GenerateKey(nil)
	expiry := time.Now().Add(time.Minute).UnixMilli()
	genuine := wire.DHTRecord{Expiry: expiry, Addrs: addrs(7000)}
	if err := wire.SignDHTRecord(owner, topic, &genuine); err != nil {
		t.Fatal(err)
	}
	otherAddrs := genuine
	otherAddrs.Addrs = addrs(6666)
	later := genuine
	later.Expiry += 1000
	later.Addrs = addrs(6666)
	cases := []struct {
		name      string
		in        []wire.DHTRecord
		topic     Topic
		wantValid int
	}{
		{"genuine", []wire.DHTRecord{genuine}, topic, 1},
		{"genuine again (remembered)", []wire.DHTRecord{genuine}, topic, 1},
		{"borrowed signature, other addresses", []wire.DHTRecord{otherAddrs}, topic, 0},
		{"genuine then borrowed signature with a later expiry", []wire.DHTRecord{genuine, later}, topic, 1},
		{"borrowed signature first", []wire.DHTRecord{later, genuine}, topic, 1},
		{"genuine record under another topic", []wire.DHTRecord{genuine}, TopicOf("other"), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recs := map[wire.PeerKey]wire.DHTRecord{}
			if got := n.collect(recs, tc.topic, tc.in); got != tc.wantValid {
				t.Fatalf("%d valid records, want %d", got, tc.wantValid)
			}
			if r, ok := recs[genuine.Key]; tc.wantValid > 0 && (!ok || r.Expiry != genuine.Expiry || r.Addrs[0] != genuine.Addrs[0]) {
				t.Fatalf("kept %+v, want the genuine record", r)
			}
		})
	}
	for i := range MaxCheckedRecords + 10 {
		r := genuine
		r.Expiry += int64(i + 1)
		n.verifyRecord(topic, &r)
	}
	n.checkedMu.Lock()
	size := len(n.checked)
	n.checkedMu.Unlock()
	if size > MaxCheckedRecords {
		t.Fatalf("%d verdicts remembered, more than %d", size, MaxCheckedRecords)
	}
}
