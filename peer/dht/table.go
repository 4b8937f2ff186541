package dht

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
	"net/netip"
	"slices"
	"time"

	"github.com/auction-tui/auction-tui/wire"
)

// ID is a position in the DHT key space: a node id (the SHA-256 of its key), a topic or a lookup
// target. Distance is the XOR of two ids.
type ID [wire.DHTIDSize]byte

// IDOf returns the node id of key: its SHA-256.
func IDOf(key wire.PeerKey) ID { return sha256.Sum256(key[:]) }

// String returns the id as 64 hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// commonPrefixLen returns the number of leading bits a and b share (256 when equal).
func commonPrefixLen(a, b ID) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			return i*8 + bits.LeadingZeros8(x)
		}
	}
	return 256
}

// cmpDist compares the distances of a and b to target: negative when a is closer.
func cmpDist(target, a, b *ID) int {
	for i := range target {
		da, db := a[i]^target[i], b[i]^target[i]
		if da != db {
			if da < db {
				return -1
			}
			return 1
		}
	}
	return 0
}

// contact is a node in the routing table. It entered only after answering a request with a
// valid signed reply from addr.
type contact struct {
	key      wire.PeerKey
	id       ID
	addr     netip.AddrPort
	lastSeen time.Time
	srtt     time.Duration // smoothed round trip; 0 until measured
	rttvar   time.Duration
	failures uint8 // timeouts in a row
	pinging  bool  // a ping-before-evict is in flight
}

type bucket struct {
	nodes      []*contact // least recently seen first
	repl       []*contact // replacement cache, most recently seen last
	lastLookup time.Time  // last lookup into this bucket's range
}

// table is the Kademlia routing table: bucket i holds nodes whose id shares exactly i leading
// bits with self. It is not safe for concurrent use; Node.mu guards it.
type table struct {
	self    ID
	k       int
	buckets [256]*bucket
	n       int
	created time.Time
}

func newTable(self ID, k int, now time.Time) *table {
	return &table{self: self, k: k, created: now}
}

func (t *table) bucketOf(id ID, create bool) *bucket {
	i := commonPrefixLen(t.self, id)
	if i >= 256 {
		return nil
	}
	if t.buckets[i] == nil && create {
		t.buckets[i] = &bucket{lastLookup: t.created}
	}
	return t.buckets[i]
}

// subnetKey returns the /24 (IPv4) or /64 (IPv6) of a, or false for loopback addresses, which
// are exempt from MaxPerSubnet.
func subnetKey(a netip.AddrPort) (netip.Prefix, bool) {
	ip := a.Addr()
	if ip.IsLoopback() {
		return netip.Prefix{}, false
	}
	bitsN := 64
	if ip.Is4() {
		bitsN = 24
	}
	p, _ := ip.Prefix(bitsN)
	return p, true
}

func subnetFull(list []*contact, a netip.AddrPort) bool {
	p, ok := subnetKey(a)
	if !ok {
		return false
	}
	n := 0
	for _, c := range list {
		if p.Contains(c.addr.Addr()) {
			n++
		}
	}
	return n >= MaxPerSubnet
}

func indexOf(list []*contact, id ID) int {
	for i, c := range list {
		if c.id == id {
			return i
		}
	}
	return -1
}

func (t *table) get(id ID) *contact {
	b := t.bucketOf(id, false)
	if b == nil {
		return nil
	}
	if i := indexOf(b.nodes, id); i >= 0 {
		return b.nodes[i]
	}
	return nil
}

// seen records that key answered from addr with round trip rtt (0: not measured). It returns
// the least recently seen node of a full bucket when that node should be pinged before the
// newcomer may replace it, or nil.
func (t *table) seen(key wire.PeerKey, addr netip.AddrPort, rtt time.Duration, now time.Time, pingAge time.Duration) *contact {
	id := IDOf(key)
	b := t.bucketOf(id, true)
	if b == nil {
		return nil
	}
	if i := indexOf(b.nodes, id); i >= 0 {
		c := b.nodes[i]
		if c.addr != addr && subnetFull(b.nodes, addr) {
			return nil
		}
		c.addr, c.lastSeen, c.failures = addr, now, 0
		c.sampleRTT(rtt)
		copy(b.nodes[i:], b.nodes[i+1:])
		b.nodes[len(b.nodes)-1] = c
		return nil
	}
	c := &contact{key: key, id: id, addr: addr, lastSeen: now}
	if i := indexOf(b.repl, id); i >= 0 {
		c.srtt, c.rttvar = b.repl[i].srtt, b.repl[i].rttvar
		b.repl = slices.Delete(b.repl, i, i+1)
	}
	c.sampleRTT(rtt)
	if len(b.nodes) < t.k && !subnetFull(b.nodes, addr) {
		b.nodes = append(b.nodes, c)
		t.n++
		return nil
	}
	if !subnetFull(b.repl, addr) {
		if len(b.repl) >= ReplacementCacheSize {
			b.repl = slices.Delete(b.repl, 0, 1)
		}
		b.repl = append(b.repl, c)
	}
	if len(b.nodes) >= t.k {
		lrs := b.nodes[0]
		if !lrs.pinging && now.Sub(lrs.lastSeen) >= pingAge {
			lrs.pinging = true
			return lrs
		}
	}
	return nil
}

func (c *contact) sampleRTT(rtt time.Duration) {
	if rtt <= 0 {
		return
	}
	if c.srtt == 0 {
		c.srtt, c.rttvar = rtt, rtt/2
		return
	}
	d := c.srtt - rtt
	if d < 0 {
		d = -d
	}
	c.rttvar = (3*c.rttvar + d) / 4
	c.srtt = (7*c.srtt + rtt) / 8
}

// failed records a timeout of id. The node leaves the table after MaxFailures timeouts in a row,
// or at once when evict is set (a ping-before-evict that failed); the most recently seen
// replacement that fits takes its place. It reports whether the node was removed.
func (t *table) failed(id ID, evict bool) bool {
	b := t.bucketOf(id, false)
	if b == nil {
		return false
	}
	i := indexOf(b.nodes, id)
	if i < 0 {
		return false
	}
	c := b.nodes[i]
	c.pinging = false
	if c.failures < 255 {
		c.failures++
	}
	if !evict && c.failures < MaxFailures {
		return false
	}
	b.nodes = slices.Delete(b.nodes, i, i+1)
	t.n--
	for j := len(b.repl) - 1; j >= 0; j-- {
		r := b.repl[j]
		if !subnetFull(b.nodes, r.addr) {
			b.repl = slices.Delete(b.repl, j, j+1)
			b.nodes = append(b.nodes, r)
			t.n++
			break
		}
	}
	return true
}

// pingDone clears the ping-before-evict mark of id after its ping was answered.
func (t *table) pingDone(id ID) {
	if c := t.get(id); c != nil {
		c.pinging = false
	}
}

// closest returns up to n nodes closest to target, closest first, without exclude.
func (t *table) closest(target ID, n int, exclude *ID) []*contact {
	out := make([]*contact, 0, n+1)
	for _, b := range t.buckets {
		if b == nil {
			continue
		}
		for _, c := range b.nodes {
			if exclude != nil && c.id == *exclude {
				continue
			}
			i, _ := slices.BinarySearchFunc(out, c, func(x, y *contact) int { return cmpDist(&target, &x.id, &y.id) })
			if i >= n {
				continue
			}
			out = slices.Insert(out, i, c)
			if len(out) > n {
				out = out[:n]
			}
		}
	}
	return out
}

// all returns every node, most recently seen first within each bucket, closest buckets first.
func (t *table) all() []*contact {
	out := make([]*contact, 0, t.n)
	for i := len(t.buckets) - 1; i >= 0; i-- {
		if b := t.buckets[i]; b != nil {
			for j := len(b.nodes) - 1; j >= 0; j-- {
				out = append(out, b.nodes[j])
			}
		}
	}
	return out
}

// touch notes a lookup into target's bucket, creating the bucket if it has no nodes yet, so that
// an empty bucket is not refreshed again and again.
func (t *table) touch(target ID, now time.Time) {
	if b := t.bucketOf(target, true); b != nil {
		b.lastLookup = now
	}
}

// stale returns the indexes of buckets, up to the deepest non-empty one, that saw no lookup for
// RefreshInterval.
func (t *table) stale(now time.Time) []int {
	deepest := -1
	for i, b := range t.buckets {
		if b != nil && len(b.nodes) > 0 {
			deepest = i
		}
	}
	var out []int
	for i := 0; i <= deepest; i++ {
		b := t.buckets[i]
		last := t.created
		if b != nil {
			last = b.lastLookup
		}
		if now.Sub(last) >= RefreshInterval {
			out = append(out, i)
		}
	}
	return out
}

// randomIDInBucket returns a random id sharing exactly i leading bits with self.
func randomIDInBucket(self ID, i int, rnd []byte) ID {
	var id ID
	copy(id[:], rnd)
	for b := 0; b < i; b++ {
		mask := byte(0x80 >> (b % 8))
		id[b/8] = id[b/8]&^mask | self[b/8]&mask
	}
	mask := byte(0x80 >> (i % 8))
	id[i/8] = id[i/8]&^mask | (^self[i/8])&mask
	return id
}

// verified reports whether id answered from addr before and is still in the table or in a
// replacement cache.
func (t *table) verified(id ID, addr netip.AddrPort) bool {
	b := t.bucketOf(id, false)
	if b == nil {
		return false
	}
	if i := indexOf(b.nodes, id); i >= 0 && b.nodes[i].addr == addr {
		return true
	}
	i := indexOf(b.repl, id)
	return i >= 0 && b.repl[i].addr == addr
}

// wants reports whether a verified reply from id would change the table: id is not in it and
// its bucket has room, its replacement cache has room, or the bucket's least recently seen node
// is due for a ping-before-evict. A node already in the table is refreshed through its verified
// pair without a signature check, so it is not wanted here.
func (t *table) wants(id ID, now time.Time, pingAge time.Duration) bool {
	b := t.bucketOf(id, false)
	if b == nil {
		return commonPrefixLen(t.self, id) < 256
	}
	if indexOf(b.nodes, id) >= 0 {
		return false
	}
	return len(b.nodes) < t.k || len(b.repl) < ReplacementCacheSize ||
		!b.nodes[0].pinging && now.Sub(b.nodes[0].lastSeen) >= pingAge
}
