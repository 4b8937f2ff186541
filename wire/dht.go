package wire

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// DHT datagrams.
//
// Every DHT message is one UDP datagram of at most MaxDHTDatagram bytes. It shares the peer's UDP
// socket with QUIC: quic-go passes a packet to the DHT when the 0x40 bit of its first byte is
// clear, so every datagram starts with DHTMagic (0x0A, which has that bit clear), then a kind byte
// and a 16-byte random request id. Integers are big-endian.
//
// Request (kinds DHTPing, DHTFindNode, DHTGetRecords, DHTAnnounce):
//
//	magic(1) kind(1) id(16) flags(1) [sender key(32) if flags&1]
//	[target(32) unless ping]
//	[announce only: token(16) record proof(64)]
//
// Reply (kind DHTAnswer):
//
//	magic(1) kind(1) id(16) responder key(32) status(1) observed addr token(16)
//	node count(1) nodes (key(32) addr)... record count(1) records... signature(64)
//
// An address is family(1: 4 or 6) ip(4 or 16) port(2); an IPv4 address is always written in the
// 4-byte form, never as an IPv4-mapped IPv6 address, and has no zone. A record is
// key(32) expiry(8, Unix ms, signed) address count(1) addresses signature(64).
//
// The reply signature is the responder's, under DomainReply, over every byte of the reply before
// it; since those bytes include the request's random id, a reply proves the responder holds its
// key now. Record signatures and announce proofs are made under DomainRecord over messages that
// start with distinct tag bytes (dhtTagRecord, dhtTagAnnounce), so neither verifies as the other.

// DHTMagic is the first byte of every DHT datagram (protocol version 1). Its 0x40 bit is clear,
// so quic-go's Transport hands such packets to ReadNonQUICPacket.
const DHTMagic byte = 0x0A

// Size limits of DHT messages, in bytes or items.
const (
	// MaxDHTDatagram is the largest DHT datagram sent or accepted, in bytes: small enough for any
	// path MTU a QUIC connection works on.
	MaxDHTDatagram = 1200
	// DHTRequestIDSize is the size of a request id, which is also the nonce a reply signs.
	DHTRequestIDSize = 16
	// DHTTokenSize is the size of a round-trip token.
	DHTTokenSize = 16
	// DHTIDSize is the size of a node id, topic or lookup target.
	DHTIDSize = 32
	// MaxDHTNodes is the most nodes one reply carries (the Kademlia k).
	MaxDHTNodes = 20
	// MaxDHTRecords is the most records one reply carries.
	MaxDHTRecords = 16
	// MaxDHTRecordAddrs is the most addresses one record carries.
	MaxDHTRecordAddrs = 6
	// MaxDHTAddrSize is the largest encoded address.
	MaxDHTAddrSize = 1 + 16 + 2
	// MaxDHTRecordSize is the largest encoded record.
	MaxDHTRecordSize = KeySize + 8 + 1 + MaxDHTRecordAddrs*MaxDHTAddrSize + SignatureSize
)

// dhtHeaderSize is magic, kind and request id.
const dhtHeaderSize = 2 + DHTRequestIDSize

// Tag bytes that start the messages signed under DomainRecord.
const (
	dhtTagRecord   byte = 1
	dhtTagAnnounce byte = 2
)

// DHTKind is the second byte of a DHT datagram.
type DHTKind uint8

// The DHT message kinds of protocol version 1.
const (
	DHTPing       DHTKind = 1 // liveness and identity check; the reply carries no nodes
	DHTFindNode   DHTKind = 2 // the reply carries the responder's closest nodes to the target
	DHTGetRecords DHTKind = 3 // as DHTFindNode, and the records stored under the target topic
	DHTAnnounce   DHTKind = 4 // store a signed record under the target topic
	DHTAnswer     DHTKind = 5 // the answer to any request
)

// String returns the kind's name, for logs.
func (k DHTKind) String() string {
	switch k {
	case DHTPing:
		return "ping"
	case DHTFindNode:
		return "find_node"
	case DHTGetRecords:
		return "get_records"
	case DHTAnnounce:
		return "announce"
	case DHTAnswer:
		return "reply"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// DHTStatus is the outcome a reply reports.
type DHTStatus uint8

// The reply statuses of protocol version 1.
const (
	DHTOK          DHTStatus = 0 // done
	DHTBadToken    DHTStatus = 1 // the announce's token is not valid for its source address
	DHTBadRecord   DHTStatus = 2 // the record or its proof does not verify, or is expired or too far ahead
	DHTFull        DHTStatus = 3 // the responder's record store is full for this topic or source
	maxDHTStatusID           = DHTFull
)

// String returns the status's name, for logs and errors.
func (s DHTStatus) String() string {
	switch s {
	case DHTOK:
		return "ok"
	case DHTBadToken:
		return "bad token"
	case DHTBadRecord:
		return "bad record"
	case DHTFull:
		return "full"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// DHTRequestID is a request's random id: it matches a reply to its request and is the nonce the
// reply's signature covers.
type DHTRequestID [DHTRequestIDSize]byte

// DHTToken is a round-trip token: a value a node hands to the address it saw a request from, and
// which an announce from that address must return.
type DHTToken [DHTTokenSize]byte

// DHTNode is a contact in a reply: a node's key and the address it answered from.
type DHTNode struct {
	Key  PeerKey
	Addr netip.AddrPort
}

// DHTRecord says that the peer Key can be reached at Addrs until Expiry. It is signed by Key under
// DomainRecord for one topic (see SignDHTRecord).
type DHTRecord struct {
	Key    PeerKey
	Expiry int64            // Unix milliseconds
	Addrs  []netip.AddrPort // 1 to MaxDHTRecordAddrs addresses
	Sig    Signature
}

// DHTRequest is a DHT request. Which fields are encoded depends on Kind (see the package notes).
type DHTRequest struct {
	Kind      DHTKind
	ID        DHTRequestID
	HasSender bool    // the sender is a full node that may be added to routing tables
	Sender    PeerKey // the sender's key, when HasSender
	Target    [DHTIDSize]byte
	Token     DHTToken  // DHTAnnounce: the token the responder gave this address
	Record    DHTRecord // DHTAnnounce: the record to store
	Proof     Signature // DHTAnnounce: Record.Key's signature of the announce (AnnounceProofMessage)
}

// DHTReply is the answer to a DHT request, signed by its responder.
type DHTReply struct {
	ID        DHTRequestID
	Responder PeerKey
	Status    DHTStatus
	Observed  netip.AddrPort // the address the responder saw the request come from
	Token     DHTToken       // a token for Observed, for a later announce
	Nodes     []DHTNode      // at most MaxDHTNodes
	Records   []DHTRecord    // at most MaxDHTRecords
	Sig       Signature
}

// DHTAddrSize returns the encoded size of a, in bytes.
func DHTAddrSize(a netip.AddrPort) int {
	if a.Addr().Unmap().Is4() {
		return 1 + 4 + 2
	}
	return 1 + 16 + 2
}

// ValidDHTAddr reports whether a can be encoded: a valid IPv4 or IPv6 address without zone and a
// non-zero port.
func ValidDHTAddr(a netip.AddrPort) bool {
	return a.IsValid() && a.Port() != 0 && a.Addr().Zone() == ""
}

func appendDHTAddr(b []byte, a netip.AddrPort) []byte {
	ip := a.Addr().Unmap()
	if ip.Is4() {
		b = append(b, 4)
		v := ip.As4()
		b = append(b, v[:]...)
	} else {
		b = append(b, 6)
		v := ip.As16()
		b = append(b, v[:]...)
	}
	return binary.BigEndian.AppendUint16(b, a.Port())
}

// DHTNodeSize returns the encoded size of n in a reply, in bytes.
func DHTNodeSize(n DHTNode) int { return KeySize + DHTAddrSize(n.Addr) }

// EncodedSize returns the encoded size of r, in bytes.
func (r *DHTRecord) EncodedSize() int {
	s := KeySize + 8 + 1 + SignatureSize
	for _, a := range r.Addrs {
		s += DHTAddrSize(a)
	}
	return s
}

func (r *DHTRecord) validate() error {
	if len(r.Addrs) == 0 || len(r.Addrs) > MaxDHTRecordAddrs {
		return &DecodeError{Type: "dht record", Reason: fmt.Sprintf("%d addresses, want 1 to %d", len(r.Addrs), MaxDHTRecordAddrs)}
	}
	for _, a := range r.Addrs {
		if !ValidDHTAddr(a) {
			return &DecodeError{Type: "dht record", Reason: "invalid address " + a.String()}
		}
	}
	return nil
}

// appendRecordBody appends key, expiry, count and addresses (no signature).
func (r *DHTRecord) appendBody(b []byte) []byte {
	b = append(b, r.Key[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Expiry))
	b = append(b, byte(len(r.Addrs)))
	for _, a := range r.Addrs {
		b = appendDHTAddr(b, a)
	}
	return b
}

func (r *DHTRecord) appendBinary(b []byte) []byte {
	return append(r.appendBody(b), r.Sig[:]...)
}

// DHTRecordMessage returns the bytes a record's signature covers for topic: a tag byte, the
// topic, then the record without its signature.
func DHTRecordMessage(topic [DHTIDSize]byte, r *DHTRecord) []byte {
	b := make([]byte, 0, 1+DHTIDSize+r.EncodedSize())
	b = append(b, dhtTagRecord)
	b = append(b, topic[:]...)
	return r.appendBody(b)
}

// SignDHTRecord sets r.Key to priv's key and r.Sig to its signature of r for topic, under
// DomainRecord. It returns an error when r has no or too many addresses, or an invalid one.
func SignDHTRecord(priv ed25519.PrivateKey, topic [DHTIDSize]byte, r *DHTRecord) error {
	r.Key = KeyOf(priv)
	if err := r.validate(); err != nil {
		return err
	}
	r.Sig = Sign(priv, DomainRecord, DHTRecordMessage(topic, r))
	return nil
}

// VerifyDHTRecord checks r's signature for topic. It returns ErrBadSignature when it does not
// verify. It does not check the expiry.
func VerifyDHTRecord(topic [DHTIDSize]byte, r *DHTRecord) error {
	return Verify(r.Key, DomainRecord, DHTRecordMessage(topic, r), r.Sig)
}

// AnnounceProofMessage returns the bytes an announce proof covers: a tag byte, the request id,
// the token, the topic and the record's signature. Signed by the record's key under DomainRecord,
// it proves that the key's holder sent this announce, from the address the token was made for.
func AnnounceProofMessage(id DHTRequestID, token DHTToken, topic [DHTIDSize]byte, recordSig Signature) []byte {
	b := make([]byte, 0, 1+DHTRequestIDSize+DHTTokenSize+DHTIDSize+SignatureSize)
	b = append(b, dhtTagAnnounce)
	b = append(b, id[:]...)
	b = append(b, token[:]...)
	b = append(b, topic[:]...)
	return append(b, recordSig[:]...)
}

// EncodedSize returns the encoded size of r, in bytes.
func (r *DHTRequest) EncodedSize() int {
	s := dhtHeaderSize + 1
	if r.HasSender {
		s += KeySize
	}
	if r.Kind != DHTPing {
		s += DHTIDSize
	}
	if r.Kind == DHTAnnounce {
		s += DHTTokenSize + r.Record.EncodedSize() + SignatureSize
	}
	return s
}

// AppendDHTRequest appends the encoding of r to b. It returns an error when r's kind is not a
// request kind or its record is invalid.
func AppendDHTRequest(b []byte, r *DHTRequest) ([]byte, error) {
	if r.Kind < DHTPing || r.Kind > DHTAnnounce {
		return b, &DecodeError{Type: "dht request", Reason: "kind " + r.Kind.String()}
	}
	if r.Kind == DHTAnnounce {
		if err := r.Record.validate(); err != nil {
			return b, err
		}
	}
	b = append(b, DHTMagic, byte(r.Kind))
	b = append(b, r.ID[:]...)
	if r.HasSender {
		b = append(b, 1)
		b = append(b, r.Sender[:]...)
	} else {
		b = append(b, 0)
	}
	if r.Kind != DHTPing {
		b = append(b, r.Target[:]...)
	}
	if r.Kind == DHTAnnounce {
		b = append(b, r.Token[:]...)
		b = r.Record.appendBinary(b)
		b = append(b, r.Proof[:]...)
	}
	return b, nil
}

// EncodedSize returns the encoded size of r, in bytes.
func (r *DHTReply) EncodedSize() int {
	s := dhtHeaderSize + KeySize + 1 + DHTAddrSize(r.Observed) + DHTTokenSize + 1 + 1 + SignatureSize
	for _, n := range r.Nodes {
		s += DHTNodeSize(n)
	}
	for i := range r.Records {
		s += r.Records[i].EncodedSize()
	}
	return s
}

// AppendDHTReply appends the encoding of r to b, signed with priv (whose key must be
// r.Responder), and sets r.Sig. It returns an error when r breaks a limit: more than MaxDHTNodes
// nodes or MaxDHTRecords records, an invalid address or record, or more than MaxDHTDatagram bytes.
func AppendDHTReply(b []byte, priv ed25519.PrivateKey, r *DHTReply) ([]byte, error) {
	start := len(b)
	b, err := appendDHTReplyBody(b, r)
	if err != nil {
		return b, err
	}
	r.Sig = Sign(priv, DomainReply, b[start:])
	return append(b, r.Sig[:]...), nil
}

// appendDHTReplyBody appends every byte of the reply before its signature.
func appendDHTReplyBody(b []byte, r *DHTReply) ([]byte, error) {
	if len(r.Nodes) > MaxDHTNodes || len(r.Records) > MaxDHTRecords {
		return b, &DecodeError{Type: "dht reply", Reason: fmt.Sprintf("%d nodes, %d records", len(r.Nodes), len(r.Records))}
	}
	if r.Status > maxDHTStatusID {
		return b, &DecodeError{Type: "dht reply", Reason: r.Status.String()}
	}
	if !ValidDHTAddr(r.Observed) {
		return b, &DecodeError{Type: "dht reply", Reason: "invalid observed address"}
	}
	if s := r.EncodedSize(); s > MaxDHTDatagram {
		return b, &DecodeError{Type: "dht reply", Reason: fmt.Sprintf("size %d > %d", s, MaxDHTDatagram)}
	}
	start := len(b)
	b = append(b, DHTMagic, byte(DHTAnswer))
	b = append(b, r.ID[:]...)
	b = append(b, r.Responder[:]...)
	b = append(b, byte(r.Status))
	b = appendDHTAddr(b, r.Observed)
	b = append(b, r.Token[:]...)
	b = append(b, byte(len(r.Nodes)))
	for _, n := range r.Nodes {
		if !ValidDHTAddr(n.Addr) {
			return b[:start], &DecodeError{Type: "dht reply", Reason: "invalid node address"}
		}
		b = append(b, n.Key[:]...)
		b = appendDHTAddr(b, n.Addr)
	}
	b = append(b, byte(len(r.Records)))
	for i := range r.Records {
		if err := r.Records[i].validate(); err != nil {
			return b[:start], err
		}
		b = r.Records[i].appendBinary(b)
	}
	return b, nil
}

// VerifyDHTReply checks the signature of the reply r decoded from the datagram b. It returns
// ErrBadSignature when it does not verify.
func VerifyDHTReply(b []byte, r *DHTReply) error {
	if len(b) < SignatureSize {
		return ErrBadSignature
	}
	return Verify(r.Responder, DomainReply, b[:len(b)-SignatureSize], r.Sig)
}

// DHTKindOf returns the kind of the datagram b, or false when b does not start with DHTMagic and
// a known kind. It reads two bytes and never allocates.
func DHTKindOf(b []byte) (DHTKind, bool) {
	if len(b) < 2 || b[0] != DHTMagic || b[1] < byte(DHTPing) || b[1] > byte(DHTAnswer) {
		return 0, false
	}
	return DHTKind(b[1]), true
}

// dhtReader reads fields from a datagram, remembering the first error.
type dhtReader struct {
	b   []byte
	err error
	typ string
}

func (r *dhtReader) fail(reason string) {
	if r.err == nil {
		r.err = &DecodeError{Type: r.typ, Reason: reason}
	}
}

func (r *dhtReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail("truncated")
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *dhtReader) byte() byte {
	v := r.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (r *dhtReader) read(dst []byte) {
	if v := r.take(len(dst)); v != nil {
		copy(dst, v)
	}
}

func (r *dhtReader) addr() netip.AddrPort {
	var ip netip.Addr
	switch r.byte() {
	case 4:
		v := r.take(4)
		if v == nil {
			return netip.AddrPort{}
		}
		ip = netip.AddrFrom4([4]byte(v))
	case 6:
		v := r.take(16)
		if v == nil {
			return netip.AddrPort{}
		}
		ip = netip.AddrFrom16([16]byte(v))
		if ip.Is4In6() {
			r.fail("IPv4-mapped address in IPv6 form")
		}
	default:
		r.fail("bad address family")
		return netip.AddrPort{}
	}
	v := r.take(2)
	if v == nil {
		return netip.AddrPort{}
	}
	a := netip.AddrPortFrom(ip, binary.BigEndian.Uint16(v))
	if a.Port() == 0 {
		r.fail("port 0")
	}
	return a
}

func (r *dhtReader) record() DHTRecord {
	var rec DHTRecord
	r.read(rec.Key[:])
	if v := r.take(8); v != nil {
		rec.Expiry = int64(binary.BigEndian.Uint64(v))
	}
	n := int(r.byte())
	if r.err == nil && (n == 0 || n > MaxDHTRecordAddrs) {
		r.fail(fmt.Sprintf("%d record addresses", n))
	}
	if r.err != nil {
		return rec
	}
	rec.Addrs = make([]netip.AddrPort, 0, n)
	for range n {
		rec.Addrs = append(rec.Addrs, r.addr())
	}
	r.read(rec.Sig[:])
	return rec
}

func (r *dhtReader) header(want DHTKind) (DHTKind, DHTRequestID) {
	var id DHTRequestID
	if len(r.b) > MaxDHTDatagram {
		r.fail(fmt.Sprintf("size %d > %d", len(r.b), MaxDHTDatagram))
		return 0, id
	}
	if r.byte() != DHTMagic {
		r.fail("bad magic")
	}
	k := DHTKind(r.byte())
	if r.err == nil {
		if want == DHTAnswer && k != DHTAnswer || want != DHTAnswer && (k < DHTPing || k > DHTAnnounce) {
			r.fail("unexpected kind " + k.String())
		}
	}
	r.read(id[:])
	return k, id
}

func (r *dhtReader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	return r.err
}

// DecodeDHTRequest decodes a request datagram of at most MaxDHTDatagram bytes. It rejects unknown
// kinds and flags, non-canonical addresses, limits broken and trailing bytes. It verifies no
// signature.
func DecodeDHTRequest(b []byte) (*DHTRequest, error) {
	r := &dhtReader{b: b, typ: "dht request"}
	req := &DHTRequest{}
	req.Kind, req.ID = r.header(DHTPing)
	switch r.byte() {
	case 0:
	case 1:
		req.HasSender = true
		r.read(req.Sender[:])
	default:
		r.fail("bad flags")
	}
	if req.Kind != DHTPing {
		r.read(req.Target[:])
	}
	if req.Kind == DHTAnnounce {
		r.read(req.Token[:])
		req.Record = r.record()
		r.read(req.Proof[:])
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return req, nil
}

// DecodeDHTReply decodes a reply datagram of at most MaxDHTDatagram bytes. It rejects unknown
// statuses, non-canonical addresses, limits broken and trailing bytes. It does not verify the
// signature: see VerifyDHTReply.
func DecodeDHTReply(b []byte) (*DHTReply, error) {
	r := &dhtReader{b: b, typ: "dht reply"}
	rep := &DHTReply{}
	_, rep.ID = r.header(DHTAnswer)
	r.read(rep.Responder[:])
	rep.Status = DHTStatus(r.byte())
	if r.err == nil && rep.Status > maxDHTStatusID {
		r.fail("unknown " + rep.Status.String())
	}
	rep.Observed = r.addr()
	r.read(rep.Token[:])
	nn := int(r.byte())
	if r.err == nil && nn > MaxDHTNodes {
		r.fail(fmt.Sprintf("%d nodes > %d", nn, MaxDHTNodes))
	}
	if r.err == nil && nn > 0 {
		rep.Nodes = make([]DHTNode, 0, nn)
		for range nn {
			var n DHTNode
			r.read(n.Key[:])
			n.Addr = r.addr()
			rep.Nodes = append(rep.Nodes, n)
		}
	}
	nr := int(r.byte())
	if r.err == nil && nr > MaxDHTRecords {
		r.fail(fmt.Sprintf("%d records > %d", nr, MaxDHTRecords))
	}
	if r.err == nil && nr > 0 {
		rep.Records = make([]DHTRecord, 0, nr)
		for range nr {
			rep.Records = append(rep.Records, r.record())
		}
	}
	r.read(rep.Sig[:])
	if err := r.end(); err != nil {
		return nil, err
	}
	return rep, nil
}
