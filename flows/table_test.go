package flows

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows/classify"
)

var (
	client = netip.MustParseAddr("203.0.113.5")
	vip    = netip.MustParseAddr("198.51.100.100")
	edge   = netip.MustParseAddr("198.51.100.13")
)

type pkt struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
	flags        uint8
	seq, ack     uint32
	payload      []byte
	at           time.Duration
	wire         int
	point        int
	frame        uint64
}

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC).UnixNano()

func (k pkt) packet(frame uint64) *decode.Packet {
	p := &decode.Packet{Point: k.point, Frame: frame, Time: t0 + int64(k.at), WireLen: k.wire, IPVersion: 4,
		Src: k.src, Dst: k.dst, SrcPort: k.sport, DstPort: k.dport, Proto: k.proto, TCPFlags: k.flags,
		Seq: k.seq, Ack: k.ack, Payload: k.payload}
	if p.WireLen == 0 {
		p.WireLen = 54 + len(k.payload)
	}
	if k.src.Is6() {
		p.IPVersion = 6
	}
	return p
}

type collector struct {
	ended []Flow
	stun  []classify.STUNMessage
}

func (c *collector) hooks() Hooks {
	return Hooks{
		End: func(f *Flow) { c.ended = append(c.ended, *f) },
		STUN: func(f *Flow, d Dir, frame uint64, ts int64, m *classify.STUNMessage) {
			c.stun = append(c.stun, *m)
		},
	}
}

func feed(t *Table, pkts []pkt) {
	for i, k := range pkts {
		t.Packet(k.packet(uint64(i + 1)))
	}
}

const (
	syn    = decode.TCPSyn
	synack = decode.TCPSyn | decode.TCPAck
	ack    = decode.TCPAck
	fin    = decode.TCPFin | decode.TCPAck
	rst    = decode.TCPRst
)

func TestTCPAccountingAndHandshake(t *testing.T) {
	var c collector
	tb := NewTable(Config{}, c.hooks())
	feed(tb, []pkt{
		{src: client, dst: vip, sport: 50000, dport: 443, proto: 6, flags: syn, seq: 1000},
		{src: vip, dst: client, sport: 443, dport: 50000, proto: 6, flags: synack, seq: 9000, ack: 1001, at: time.Millisecond},
		{src: client, dst: vip, sport: 50000, dport: 443, proto: 6, flags: ack, seq: 1001, ack: 9001, at: 2 * time.Millisecond},
		{src: client, dst: vip, sport: 50000, dport: 443, proto: 6, flags: ack | decode.TCPPsh, seq: 1001, ack: 9001, payload: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), at: 3 * time.Millisecond},
		{src: vip, dst: client, sport: 443, dport: 50000, proto: 6, flags: fin, seq: 9001, ack: 1028, at: 4 * time.Millisecond},
		{src: client, dst: vip, sport: 50000, dport: 443, proto: 6, flags: fin, seq: 1028, ack: 9002, at: 5 * time.Millisecond},
	})
	tb.Flush()
	if len(c.ended) != 1 {
		t.Fatalf("%d flows, want 1", len(c.ended))
	}
	f := c.ended[0]
	if f.Client.Addr != client || f.Server.Port != 443 {
		t.Errorf("client %v server %v", f.Client, f.Server)
	}
	if f.Packets != [2]uint64{4, 2} {
		t.Errorf("packets %v", f.Packets)
	}
	if want := uint64(54*4 + 27); f.Bytes[C2S] != want {
		t.Errorf("c2s bytes %d, want %d", f.Bytes[C2S], want)
	}
	if !f.TCP.SYN || f.TCP.ISN != 1000 || !f.TCP.SYNACK || f.TCP.SYNACKAck != 1001 || !f.TCP.Established {
		t.Errorf("handshake %+v", f.TCP)
	}
	if f.TCP.FIN != [2]int{1, 1} || f.EndReason != "end-of-input" {
		t.Errorf("fin %v end %q", f.TCP.FIN, f.EndReason)
	}
	if f.Label.App != classify.HTTP {
		t.Errorf("app %v, want http", f.Label.App)
	}
	if f.ID() != "f0-1" || f.Data.FirstFrame != [2]uint64{4, 0} {
		t.Errorf("id %s data marks %+v", f.ID(), f.Data)
	}
}

func TestOrientationFromFirstPacket(t *testing.T) {
	var c collector
	tb := NewTable(Config{}, c.hooks())
	// A SYN-ACK seen first: its destination opened the connection.
	feed(tb, []pkt{{src: vip, dst: client, sport: 443, dport: 50001, proto: 6, flags: synack, seq: 5, ack: 77}})
	// A STUN success response seen first: its destination is the client.
	resp := stunBindingSuccess()
	tb.Packet(pkt{src: edge, dst: client, sport: 3478, dport: 50002, proto: 17, payload: resp}.packet(2))
	tb.Flush()
	if len(c.ended) != 2 {
		t.Fatalf("%d flows", len(c.ended))
	}
	for _, f := range c.ended {
		if f.Client.Addr != client {
			t.Errorf("flow %v: client %v, want %v", f.Key, f.Client, client)
		}
		if f.Packets[S2C] != 1 || f.Packets[C2S] != 0 {
			t.Errorf("flow %v: packets %v", f.Client, f.Packets)
		}
	}
	if len(c.stun) != 1 || c.stun[0].Class != classify.ClassSuccess {
		t.Errorf("stun events %+v", c.stun)
	}
}

func stunBindingSuccess() []byte {
	b := make([]byte, 20+12)
	binary.BigEndian.PutUint16(b[0:], 0x0101)
	binary.BigEndian.PutUint16(b[2:], 12)
	binary.BigEndian.PutUint32(b[4:], 0x2112A442)
	copy(b[8:20], "abcdefghijkl")
	// XOR-MAPPED-ADDRESS 203.0.113.5:50002
	binary.BigEndian.PutUint16(b[20:], 0x0020)
	binary.BigEndian.PutUint16(b[22:], 8)
	b[25] = 1
	binary.BigEndian.PutUint16(b[26:], 50002^0x2112)
	ip := client.As4()
	for i := 0; i < 4; i++ {
		b[28+i] = ip[i] ^ b[4+i]
	}
	return b
}

func TestExpiryEvictionReuse(t *testing.T) {
	var c collector
	tb := NewTable(Config{MaxFlows: 2, UDPTimeout: time.Second}, c.hooks())
	feed(tb, []pkt{
		{src: client, dst: edge, sport: 1, dport: 3478, proto: 17, payload: []byte{0x80}},
		{src: client, dst: edge, sport: 2, dport: 3478, proto: 17, payload: []byte{0x80}, at: 10 * time.Millisecond},
		// Third flow: the table is full, the least recently active goes.
		{src: client, dst: edge, sport: 3, dport: 3478, proto: 17, payload: []byte{0x80}, at: 20 * time.Millisecond},
		// Two seconds later both remaining flows are idle past the timeout.
		{src: client, dst: vip, sport: 4, dport: 443, proto: 6, flags: syn, seq: 10, at: 3 * time.Second},
		{src: client, dst: vip, sport: 4, dport: 443, proto: 6, flags: rst, seq: 11, at: 3*time.Second + 1},
		// A new SYN with another ISN on the closed 5-tuple starts a new flow.
		{src: client, dst: vip, sport: 4, dport: 443, proto: 6, flags: syn, seq: 5000, at: 4 * time.Second},
	})
	tb.Flush()
	st := tb.Stats()
	if st.Evicted != 1 || st.Expired != 2 || st.Reused != 1 || st.Flows != 5 {
		t.Fatalf("stats %+v", st)
	}
	reasons := map[string]int{}
	for _, f := range c.ended {
		reasons[f.EndReason]++
	}
	want := map[string]int{"evicted": 1, "idle": 2, "reused": 1, "end-of-input": 1}
	for k, v := range want {
		if reasons[k] != v {
			t.Errorf("end reasons %v, want %v", reasons, want)
			break
		}
	}
}

func TestCommunityID(t *testing.T) {
	// Reference values from the Community ID spec's baseline (corelight/community-id-spec).
	cases := []struct {
		proto uint8
		a, b  Endpoint
		want  string
	}{
		{6, Endpoint{netip.MustParseAddr("128.232.110.120"), 34855}, Endpoint{netip.MustParseAddr("66.35.250.204"), 80}, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{17, Endpoint{netip.MustParseAddr("192.168.1.52"), 54585}, Endpoint{netip.MustParseAddr("8.8.8.8"), 53}, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
	}
	for _, c := range cases {
		if got := CommunityID(c.proto, c.a, c.b); got != c.want {
			t.Errorf("%v %v: %s, want %s", c.a, c.b, got, c.want)
		}
		if got := CommunityID(c.proto, c.b, c.a); got != c.want {
			t.Errorf("reversed %v %v: %s, want %s", c.b, c.a, got, c.want)
		}
	}
}

// TestDNSTimeout: an answered DNS exchange ends after DNSTimeout idle, not
// UDPTimeout, while other UDP flows stay.
func TestDNSTimeout(t *testing.T) {
	q := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}
	a := append([]byte{0x12, 0x34, 0x81, 0x80}, q[4:]...)
	resolver := netip.MustParseAddr("198.51.100.53")
	var c collector
	tb := NewTable(Config{}, c.hooks())
	feed(tb, []pkt{
		{src: edge, dst: resolver, sport: 40000, dport: 53, proto: 17, payload: q},
		{src: resolver, dst: edge, sport: 53, dport: 40000, proto: 17, payload: a, at: time.Millisecond},
		{src: client, dst: edge, sport: 50000, dport: 3478, proto: 17, payload: stunBindingSuccess(), at: 2 * time.Millisecond},
		{src: client, dst: vip, sport: 1, dport: 443, proto: 6, flags: syn, at: 11 * time.Second},
		{src: client, dst: vip, sport: 2, dport: 443, proto: 6, flags: syn, at: 12 * time.Second},
	})
	if len(c.ended) != 1 || c.ended[0].Server.Port != 53 || c.ended[0].EndReason != "idle" || c.ended[0].Label.App != classify.DNS {
		t.Fatalf("ended before the end of input: %+v, want the DNS exchange, idle", c.ended)
	}
	tb.Flush()
	if len(c.ended) != 4 {
		t.Fatalf("%d flows ended, want 4", len(c.ended))
	}
	for _, f := range c.ended[1:] {
		if f.EndReason != "end-of-input" {
			t.Errorf("%v -> %v ended %q, want end-of-input", f.Client, f.Server, f.EndReason)
		}
	}
}

// TestIndexChains forces keys into one index entry (the seeded hash makes
// that too rare to meet by chance) and checks that every flow stays
// findable as others around it in the chain end, in any order.
func TestIndexChains(t *testing.T) {
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}} {
		tb := NewTable(Config{}, Hooks{})
		const h = 42
		var keys [4]Key
		var fl [4]*Flow
		for i := range keys {
			p := pkt{src: client, dst: edge, sport: uint16(1000 + i), dport: 3478, proto: 17}.packet(uint64(i + 1))
			keys[i] = KeyOf(p)
			fl[i] = tb.newFlow(keys[i], h, p)
		}
		if tb.n != 4 || len(tb.m) != 1 {
			t.Fatalf("%d flows in %d entries, want 4 in 1", tb.n, len(tb.m))
		}
		gone := map[int]bool{}
		for _, e := range order {
			tb.end(fl[e], "test")
			gone[e] = true
			for i := range keys {
				got := tb.find(&keys[i], h)
				if gone[i] != (got == nil) || (got != nil && got.Key != keys[i]) {
					t.Fatalf("order %v: after ending %d, find(%d) = %v", order, e, i, got)
				}
			}
		}
		if tb.n != 0 || len(tb.m) != 0 {
			t.Fatalf("order %v: %d flows in %d entries left", order, tb.n, len(tb.m))
		}
	}
}

// TestKeyBytes pins the layout the index hashes: Key's fields lie back to
// back from its start, with no padding between them, and keyBytes ends at
// the last one, so every field is hashed and no padding is.
func TestKeyBytes(t *testing.T) {
	typ := reflect.TypeOf(Key{})
	end := uintptr(0)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Offset != end {
			t.Fatalf("field %s at %d, want %d (padding before it)", f.Name, f.Offset, end)
		}
		end = f.Offset + f.Type.Size()
	}
	if keyBytes != int(end) {
		t.Fatalf("keyBytes %d, fields end at %d", keyBytes, end)
	}
	a, b := Key{HiPort: 1}, Key{HiPort: 2}
	tb := NewTable(Config{}, Hooks{})
	if tb.hash(&a) == tb.hash(&b) {
		t.Fatal("keys differing in a port hash alike")
	}
}

// TestTableZeroAllocs guards the per-packet path: once a flow exists (and,
// for the cache, once it is found), accounting its packets allocates
// nothing, for UDP media, TCP data and a flow still being classified.
func TestTableZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	tb := NewTable(Config{}, Hooks{})
	rtp := append([]byte{0x80, 0x00, 0x12, 0x34}, make([]byte, 168)...)
	pkts := []*decode.Packet{
		pkt{src: client, dst: edge, sport: 50010, dport: 50020, proto: 17, payload: rtp}.packet(1),
		pkt{src: edge, dst: client, sport: 50020, dport: 50010, proto: 17, payload: rtp}.packet(2),
		pkt{src: client, dst: vip, sport: 40000, dport: 443, proto: 6, flags: ack, seq: 1, payload: []byte("xyz")}.packet(3),
		pkt{src: vip, dst: client, sport: 443, dport: 40000, proto: 6, flags: ack, seq: 1}.packet(4),
	}
	for _, p := range pkts { // the flows exist before measuring
		tb.Packet(p)
	}
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		p := pkts[i%len(pkts)]
		p.Time += 1000
		p.Seq += uint32(len(p.Payload)) // new data, not retransmissions
		tb.Packet(p)
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per packet, want 0", allocs)
	}
	if st := tb.Stats(); st.Flows != 2 {
		t.Fatalf("%d flows, want 2", st.Flows)
	}
}
