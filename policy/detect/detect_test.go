package detect

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/flows/classify"
	"github.com/edgeaudit/edgeaudit/policy"
)

const topoYAML = `version: 1
name: test pool
vips:
  access: 198.51.100.100
  webconf: 198.51.100.101
  av: 198.51.100.102
  internal: 172.16.0.100
nodes:
  - name: edge1
    access: 198.51.100.11
    webconf: 198.51.100.12
    av: 198.51.100.13
    internal: 172.16.0.11
  - name: edge2
    access: 198.51.100.21
    webconf: 198.51.100.22
    av: 198.51.100.23
    internal: 172.16.0.21
hlb:
  addresses: [198.51.100.250, 172.16.0.250]
  macs: ["02:00:5e:00:00:fa", "02:00:5e:00:00:fb"]
internal:
  front_end: [172.16.1.0/24]
`

var (
	vipAccess = ap("198.51.100.100:443")
	vipAV     = ap("198.51.100.102:3478")
	avReal    = ap("198.51.100.13:3478")
	access1   = ap("198.51.100.11:443")
	hlbExt    = netip.MustParseAddr("198.51.100.250")
	client    = ap("203.0.113.10:50123")

	macHLB    = [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0xfa}
	macEdge1  = [6]byte{0x00, 0x15, 0x5d, 0x01, 0x0b, 0x01}
	macRouter = [6]byte{0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01}
)

const (
	outside int32 = 0
	inside  int32 = 1024
	t0            = int64(1_700_000_000_000_000_000)
	ms            = int64(time.Millisecond)
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func topo(t testing.TB) *policy.Topology {
	t.Helper()
	tp, err := policy.ParseTopology([]byte(topoYAML), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// harness collects findings emitted mid-run and at Finish.
type harness struct {
	d        *Detector
	live     []*policy.Finding
	finished []*policy.Finding
}

func newHarness(t testing.TB, withTopo bool, mod func(*Config)) *harness {
	h := &harness{}
	cfg := Config{
		PointName: func(p int) string {
			switch int32(p) {
			case outside:
				return "outside.pcap"
			case inside:
				return "inside.pcap"
			}
			return "p" + itoa(p)
		},
		Emit: func(f *policy.Finding) { h.live = append(h.live, f) },
	}
	if withTopo {
		cfg.Topology = topo(t)
	}
	if mod != nil {
		mod(&cfg)
	}
	h.d = New(cfg)
	return h
}

func (h *harness) finish() []*policy.Finding {
	h.d.Finish(func(f *policy.Finding) { h.finished = append(h.finished, f) })
	return append(append([]*policy.Finding(nil), h.live...), h.finished...)
}

func kinds(fs []*policy.Finding) map[policy.Kind]int {
	m := map[policy.Kind]int{}
	for _, f := range fs {
		m[f.Kind]++
	}
	return m
}

func txid(n byte) [16]byte {
	return [16]byte{0x21, 0x12, 0xA4, 0x42, 0x7e, 0x5f, 0x38, n, 1, 2, 3, 4, 5, 6, 7, n}
}

// req and ans build STUN events as the flow table's hook would give them.
func req(point int32, frame uint64, at int64, src, dst netip.AddrPort, id [16]byte, user uint64) STUNEvent {
	return STUNEvent{Point: point, Proto: decode.ProtoUDP, Frame: frame, Time: at, FlowFrame: frame, Src: src, Dst: dst,
		TxID: id, Type: 0x0003, Class: classify.ClassRequest, Method: classify.MethodAllocate, Variant: classify.VariantMSTURN,
		ExpectsAnswer: true, HasUser: user != 0, UserHash: user}
}

func ans(point int32, frame uint64, at int64, src, dst netip.AddrPort, id [16]byte, refl netip.AddrPort) STUNEvent {
	e := STUNEvent{Point: point, Proto: decode.ProtoUDP, Frame: frame, Time: at, FlowFrame: frame, Src: src, Dst: dst,
		TxID: id, Type: 0x0103, Class: classify.ClassSuccess, Method: classify.MethodAllocate, Variant: classify.VariantMSTURN}
	if refl.IsValid() {
		e.Reflexive, e.ReflexiveAs = refl, ReflexiveMSXOR
	}
	return e
}

func TestSTUNAsymmetricAcrossFiveTuples(t *testing.T) {
	cases := []struct {
		name     string
		from     netip.AddrPort
		topo     bool
		want     int
		wantText string
	}{
		{"answer from real, topology", avReal, true, 1, "198.51.100.102:3478 (av-vip) was answered from 198.51.100.13:3478 (av)"},
		{"answer from real, no topology", avReal, false, 1, "to 198.51.100.102:3478 was answered from 198.51.100.13:3478"},
		{"answer from the VIP", vipAV, true, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.topo, nil)
			id := txid(1)
			r := req(outside, 139, t0, client, vipAV, id, 0)
			a := ans(outside, 141, t0+30*ms, c.from, client, id, client)
			h.d.ObserveSTUN(&r)
			h.d.ObserveSTUN(&a)
			fs := h.finish()
			var got []*policy.Finding
			for _, f := range fs {
				if f.Kind == policy.KindAsymmetricReturn {
					got = append(got, f)
				}
			}
			if len(got) != c.want {
				t.Fatalf("got %d asymmetric findings, want %d: %+v", len(got), c.want, fs)
			}
			if c.want == 0 {
				return
			}
			f := got[0]
			if !strings.Contains(f.Message, c.wantText) || f.Requirement != "HLB-03" || f.Severity != policy.Error {
				t.Errorf("finding: %+v", f)
			}
			if len(h.live) == 0 {
				t.Errorf("finding not emitted mid-run")
			}
			if len(f.Evidence) != 2 || f.Evidence[0].Packet != 139 || f.Evidence[1].Packet != 141 || f.Evidence[0].Point != "outside.pcap" {
				t.Errorf("evidence: %+v", f.Evidence)
			}
			if f.Filter != "stun.id == 7e:5f:38:01:01:02:03:04:05:06:07:01" {
				t.Errorf("filter %q", f.Filter)
			}
			if !strings.Contains(f.Evidence[0].Detail, "txid 7e5f38…") {
				t.Errorf("detail %q", f.Evidence[0].Detail)
			}
		})
	}
}

func TestNeverAnsweredByDesign(t *testing.T) {
	h := newHarness(t, true, nil)
	id := txid(2)
	// MS-TURN Send requests (0x0004) and Data Indications (0x0115) from the
	// parser, and an RFC 5389 indication: none expects an answer.
	send := req(outside, 1, t0, client, avReal, id, 7)
	send.Type, send.Method, send.ExpectsAnswer = 0x0004, classify.MethodMSSend, false
	data := ans(outside, 2, t0+ms, avReal, client, txid(3), netip.AddrPort{})
	data.Type, data.Class, data.Method = 0x0115, classify.ClassIndication, classify.MethodData
	ind := req(outside, 3, t0+2*ms, client, avReal, txid(4), 0)
	ind.Class, ind.ExpectsAnswer = classify.ClassIndication, false
	for _, e := range []STUNEvent{send, data, ind} {
		h.d.ObserveSTUN(&e)
	}
	if fs := h.finish(); len(fs) != 0 {
		t.Fatalf("findings for messages never answered: %+v", fs)
	}
	if n := h.d.Stats().TxPeak; n != 0 {
		t.Errorf("%d transactions held for messages never answered", n)
	}
}

func TestReflexiveAddress(t *testing.T) {
	cases := []struct {
		name   string
		topo   bool
		dst    netip.AddrPort
		refl   netip.AddrPort
		as     ReflexiveAttr
		want   policy.Severity
		expect bool
	}{
		{"HLB address, topology", true, client, netip.AddrPortFrom(hlbExt, client.Port()), ReflexiveMSXOR, policy.Error, true},
		{"HLB address, no topology (Edge subnet)", false, client, netip.AddrPortFrom(hlbExt, client.Port()), ReflexiveXOR, policy.Error, true},
		{"classic MAPPED is the HLB", true, client, netip.AddrPortFrom(hlbExt, 1), ReflexiveMapped, policy.Error, true},
		{"other translation, no topology", false, client, ap("192.0.2.99:4000"), ReflexiveXOR, policy.Warning, true},
		{"client's own address", true, client, client, ReflexiveXOR, 0, false},
		{"client behind its own NAT", true, ap("192.168.1.5:50123"), ap("203.0.113.77:61000"), ReflexiveXOR, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.topo, nil)
			id := txid(5)
			r := req(outside, 10, t0, c.dst, vipAV, id, 0)
			a := ans(outside, 11, t0+20*ms, vipAV, c.dst, id, c.refl)
			a.ReflexiveAs = c.as
			h.d.ObserveSTUN(&r)
			h.d.ObserveSTUN(&a)
			fs := h.finish()
			k := kinds(fs)
			if !c.expect {
				if len(fs) != 0 {
					t.Fatalf("unexpected findings: %+v", fs)
				}
				return
			}
			if k[policy.KindSNATAV] != 1 || len(fs) != 1 {
				t.Fatalf("findings %+v", fs)
			}
			if fs[0].Severity != c.want || fs[0].Requirement != "HLB-02" {
				t.Errorf("severity %v requirement %s", fs[0].Severity, fs[0].Requirement)
			}
			if !strings.Contains(fs[0].Evidence[0].Detail, c.refl.String()) {
				t.Errorf("evidence %+v", fs[0].Evidence)
			}
		})
	}
}

func TestAllocateSuccessMappedIsRelay(t *testing.T) {
	// MS-TURN Allocate success: MAPPED-ADDRESS is the relay on the Edge's
	// real A/V address, 0x8020 the reflexive one. The relay must not be
	// taken for a reflexive address in the Edge's subnet.
	m := &classify.STUNMessage{Variant: classify.VariantMSTURN, Type: 0x0103, Class: classify.ClassSuccess,
		Method: classify.MethodAllocate, TxID: txid(6), Mapped: ap("198.51.100.13:50555")}
	f := &flows.Flow{Point: 0, Proto: decode.ProtoUDP, Client: flows.Endpoint{Addr: client.Addr(), Port: client.Port()},
		Server: flows.Endpoint{Addr: vipAV.Addr(), Port: vipAV.Port()}, FirstFrame: 5}
	e := MakeSTUNEvent(f, flows.S2C, 6, t0, m)
	if e.Reflexive.IsValid() || e.Relay != m.Mapped {
		t.Fatalf("reflexive %v relay %v", e.Reflexive, e.Relay)
	}
	m.XORMapped, m.XORMappedMS = client, true
	e = MakeSTUNEvent(f, flows.S2C, 6, t0, m)
	if e.Reflexive != client || e.Src != vipAV || e.Dst != client {
		t.Fatalf("event %+v", e)
	}
	h := newHarness(t, true, nil)
	h.d.STUN(f, flows.C2S, 5, t0-ms, &classify.STUNMessage{Variant: classify.VariantMSTURN, Type: 3, Class: classify.ClassRequest,
		Method: classify.MethodAllocate, TxID: txid(6)})
	h.d.STUN(f, flows.S2C, 6, t0, m)
	if fs := h.finish(); len(fs) != 0 {
		t.Fatalf("compliant allocation reported: %+v", fs)
	}
}

func TestSNATBetweenPointsAndClockOffset(t *testing.T) {
	h := newHarness(t, true, nil)
	offset := int64(1500 * time.Millisecond)
	hlbSrc := netip.AddrPortFrom(hlbExt, client.Port())
	for i := 0; i < 9; i++ {
		id := txid(byte(20 + i))
		at := t0 + int64(i)*int64(time.Second)
		jitter := int64(i%3) * ms // HLB latency varies
		o := req(outside, uint64(100+i), at, client, vipAV, id, uint64(1000+i))
		in := req(inside, uint64(200+i), at+offset+jitter+2*ms, hlbSrc, avReal, id, uint64(1000+i))
		h.d.ObserveSTUN(&o)
		h.d.ObserveSTUN(&in)
	}
	offs := h.d.Offsets()
	if len(offs) != 1 || offs[0].A != "outside.pcap" || offs[0].B != "inside.pcap" || offs[0].Samples != 9 {
		t.Fatalf("offsets %+v", offs)
	}
	if d := offs[0].Offset - 1503*time.Millisecond; d < -2*time.Millisecond || d > 2*time.Millisecond {
		t.Errorf("offset %v, want about 1.503s", offs[0].Offset)
	}
	fs := h.finish()
	var cross, direct int
	for _, f := range fs {
		if f.Kind != policy.KindSNATAV {
			t.Errorf("unexpected %+v", f)
			continue
		}
		if strings.Contains(f.Message, "translated between the two points") {
			cross++
			if f.Severity != policy.Error || f.Evidence[0].Point != "outside.pcap" || f.Evidence[1].Point != "inside.pcap" {
				t.Errorf("cross-point finding %+v", f)
			}
		} else {
			direct++
		}
		if f.Subject != "a/v source 198.51.100.250 → 198.51.100.13" {
			t.Errorf("subject %q", f.Subject)
		}
	}
	if cross != 9 || direct != 1 {
		t.Errorf("cross-point %d (want one per transaction), from-HLB %d (want 1: one flow)", cross, direct)
	}
	if h.d.Stats().Correlated != 9 {
		t.Errorf("correlated %d", h.d.Stats().Correlated)
	}
}

func TestPointsNotOverlappingAreNotCorrelated(t *testing.T) {
	h := newHarness(t, true, nil)
	id := txid(40)
	o := req(outside, 1, t0, client, vipAV, id, 0)
	in := req(inside, 1, t0+int64(time.Hour), netip.AddrPortFrom(hlbExt, 1), avReal, id, 0)
	h.d.ObserveSTUN(&o)
	h.d.ObserveSTUN(&in)
	if fs := h.finish(); len(fs) != 0 {
		t.Fatalf("findings %+v", fs)
	}
	if h.d.Stats().Correlated != 0 || len(h.d.Offsets()) != 0 {
		t.Errorf("correlated an hour apart: %+v", h.d.Offsets())
	}
	if u := strings.Join(h.d.Unchecked(), "\n"); !strings.Contains(u, "share no STUN transaction") {
		t.Errorf("unchecked: %s", u)
	}
}

func TestAccessSNATIsAllowed(t *testing.T) {
	h := newHarness(t, true, nil)
	// The same SYN outside (client → Access VIP) and inside (HLB SNAT → access real).
	syn := func(p int32, src, dst netip.AddrPort, at int64) TCPEvent {
		return TCPEvent{Point: p, Frame: 1, Time: at, Src: src, Dst: dst, Flags: decode.TCPSyn, Seq: 777}
	}
	a := syn(outside, client, vipAccess, t0)
	b := syn(inside, netip.AddrPortFrom(hlbExt, 40000), access1, t0+ms)
	h.d.ObserveTCP(&a)
	h.d.ObserveTCP(&b)
	sa := TCPEvent{Point: inside, Frame: 2, Time: t0 + 2*ms, Src: access1, Dst: netip.AddrPortFrom(hlbExt, 40000), Flags: decode.TCPSyn | decode.TCPAck, Seq: 5, Ack: 778}
	h.d.ObserveTCP(&sa)
	sa2 := TCPEvent{Point: outside, Frame: 2, Time: t0 + 3*ms, Src: vipAccess, Dst: client, Flags: decode.TCPSyn | decode.TCPAck, Seq: 6, Ack: 778}
	h.d.ObserveTCP(&sa2)
	// A long SIP flow from the HLB's SNAT address to the Access Edge.
	fe := FlowEvent{Point: inside, Proto: decode.ProtoTCP, Client: netip.AddrPortFrom(hlbExt, 40000), Server: access1, FirstFrame: 1,
		First: t0, Last: t0 + int64(time.Minute), Packets: [2]uint64{40, 40}, PayloadBytes: [2]uint64{4000, 9000}, App: classify.SIP,
		TCP: flows.TCPInfo{SYN: true, ISN: 777, SYNACK: true, Established: true, SYNs: 1}}
	h.d.ObserveFlow(&fe)
	if fs := h.finish(); len(fs) != 0 {
		t.Fatalf("SNAT on Access reported: %+v", fs)
	}
	if h.d.Stats().Correlated != 1 {
		t.Errorf("SYN not correlated across points")
	}
}

func TestTCPAsymmetricReturn(t *testing.T) {
	real := ap("198.51.100.11:443")
	cases := []struct {
		name     string
		from     netip.AddrPort
		rst      bool
		retrans  bool
		want     int
		evidence int
		live     bool
	}{
		{"SYN-ACK from real, client RST", real, true, false, 1, 3, true},
		{"SYN-ACK from real, SYN retransmitted", real, false, true, 1, 3, true},
		{"SYN-ACK from real, nothing else seen (reported on expiry)", real, false, false, 1, 2, true},
		{"SYN-ACK from the VIP", vipAccess, true, false, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true, nil)
			isn := uint32(0xdeadbeef)
			ev := []TCPEvent{
				{Point: outside, Frame: 1, Time: t0, Src: client, Dst: vipAccess, Flags: decode.TCPSyn, Seq: isn},
				{Point: outside, Frame: 2, Time: t0 + 30*ms, Src: c.from, Dst: client, Flags: decode.TCPSyn | decode.TCPAck, Seq: 99, Ack: isn + 1},
			}
			if c.rst {
				ev = append(ev, TCPEvent{Point: outside, Frame: 3, Time: t0 + 31*ms, Src: client, Dst: c.from, Flags: decode.TCPRst, Seq: isn + 1})
			}
			if c.retrans {
				ev = append(ev, TCPEvent{Point: outside, Frame: 4, Time: t0 + 1000*ms, Src: client, Dst: vipAccess, Flags: decode.TCPSyn, Seq: isn})
			}
			for i := range ev {
				h.d.ObserveTCP(&ev[i])
			}
			h.d.Advance(t0 + int64(time.Minute)) // a live clock: pending answers expire
			live := len(h.live)
			fs := h.finish()
			if len(fs) != c.want {
				t.Fatalf("got %d findings, want %d: %+v", len(fs), c.want, fs)
			}
			if c.want == 0 {
				return
			}
			f := fs[0]
			if f.Kind != policy.KindAsymmetricReturn || len(f.Evidence) != c.evidence || (live > 0) != c.live {
				t.Errorf("finding %+v (live %d)", f, live)
			}
			if !strings.Contains(f.Message, "198.51.100.100:443 (access-vip)") || !strings.Contains(f.Message, "198.51.100.11:443 (access)") {
				t.Errorf("message %q", f.Message)
			}
			if !strings.Contains(f.Filter, "tcp.seq_raw == 3735928559") {
				t.Errorf("filter %q", f.Filter)
			}
		})
	}
}

func TestBypassAcrossPoints(t *testing.T) {
	// Outside sees the SYN to the VIP and no answer; edge1 sees the same
	// SYN (to its real address) answered: the answer bypasses the HLB.
	h := newHarness(t, true, nil)
	isn := uint32(4242)
	// Make both points visibly two-way first.
	for _, p := range []int32{outside, inside} {
		fe := FlowEvent{Point: p, Proto: decode.ProtoUDP, Client: ap("203.0.113.9:1"), Server: ap("203.0.113.53:53"), Packets: [2]uint64{1, 1}, First: t0, Last: t0}
		h.d.ObserveFlow(&fe)
	}
	ev := []TCPEvent{
		{Point: outside, Frame: 1, Time: t0, Src: client, Dst: vipAccess, Flags: decode.TCPSyn, Seq: isn},
		{Point: inside, Frame: 1, Time: t0 + 1500*ms, Src: client, Dst: access1, Flags: decode.TCPSyn, Seq: isn},
		{Point: inside, Frame: 2, Time: t0 + 1501*ms, Src: access1, Dst: client, Flags: decode.TCPSyn | decode.TCPAck, Ack: isn + 1},
		{Point: outside, Frame: 3, Time: t0 + 1000*ms, Src: client, Dst: vipAccess, Flags: decode.TCPSyn, Seq: isn},
	}
	for i := range ev {
		h.d.ObserveTCP(&ev[i])
	}
	// The unanswered SYN's flow at the outside point: not one-way SIP.
	fe := FlowEvent{Point: outside, Proto: decode.ProtoTCP, Client: client, Server: vipAccess, FirstFrame: 1, First: t0, Last: t0 + 3000*ms,
		Packets: [2]uint64{3, 0}, TCP: flows.TCPInfo{SYN: true, ISN: isn, SYNFrame: 1, SYNTime: t0, SYNs: 3}}
	h.d.ObserveFlow(&fe)
	fs := h.finish()
	k := kinds(fs)
	if k[policy.KindAsymmetricReturn] != 1 || k[policy.KindOneWaySIP] != 0 {
		t.Fatalf("findings %+v", fs)
	}
}

func flowSYNOnly(p int32, frame uint64, isn uint32, cl, sv netip.AddrPort, syns int) FlowEvent {
	return FlowEvent{Point: p, Proto: decode.ProtoTCP, Client: cl, Server: sv, FirstFrame: frame, First: t0, Last: t0 + int64(syns)*int64(time.Second),
		Packets: [2]uint64{uint64(syns), 0}, TCP: flows.TCPInfo{SYN: true, ISN: isn, SYNFrame: frame, SYNTime: t0, SYNs: syns}}
}

func twoWayFlows(h *harness, p int32, n int) {
	for i := 0; i < n; i++ {
		fe := FlowEvent{Point: p, Proto: decode.ProtoUDP, Client: ap("203.0.113.9:" + itoa(1000+i)), Server: ap("203.0.113.53:53"),
			Packets: [2]uint64{1, 1}, First: t0, Last: t0}
		h.d.ObserveFlow(&fe)
	}
}

func TestOneWaySIP(t *testing.T) {
	cases := []struct {
		name   string
		topo   bool
		server netip.AddrPort
		twoWay int // two-way flows at the point
		oneWay int // other one-way flows at the point (a one-direction SPAN)
		asym   bool
		want   int
		live   bool
		inputs int
	}{
		{"SYN to the Access VIP unanswered", true, vipAccess, 6, 0, false, 1, true, 0},
		{"SYN to 5061 unanswered, no topology", false, ap("198.51.100.100:5061"), 6, 0, false, 1, true, 0},
		{"443 without topology is not judged", false, vipAccess, 6, 0, false, 0, false, 0},
		{"few flows: decided at Finish", true, vipAccess, 1, 0, false, 1, false, 0},
		{"one-direction SPAN", true, vipAccess, 0, 12, false, 0, false, 1},
		{"answered from elsewhere", true, vipAccess, 6, 0, true, 0, false, 0},
		{"A/V VIP 443 is not SIP", true, ap("198.51.100.102:443"), 6, 0, false, 0, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.topo, nil)
			twoWayFlows(h, outside, c.twoWay)
			for i := 0; i < c.oneWay; i++ {
				fe := FlowEvent{Point: outside, Proto: decode.ProtoUDP, Client: ap("203.0.113.9:" + itoa(2000+i)), Server: ap("203.0.113.53:53"),
					Packets: [2]uint64{1, 0}, First: t0, Last: t0}
				h.d.ObserveFlow(&fe)
			}
			isn := uint32(31337)
			if c.asym {
				ev := []TCPEvent{
					{Point: outside, Frame: 1, Time: t0, Src: client, Dst: c.server, Flags: decode.TCPSyn, Seq: isn},
					{Point: outside, Frame: 2, Time: t0 + ms, Src: access1, Dst: client, Flags: decode.TCPSyn | decode.TCPAck, Ack: isn + 1},
				}
				for i := range ev {
					h.d.ObserveTCP(&ev[i])
				}
			}
			fe := flowSYNOnly(outside, 1, isn, client, c.server, 3)
			h.d.ObserveFlow(&fe)
			live := 0
			for _, f := range h.live {
				if f.Kind == policy.KindOneWaySIP {
					live++
				}
			}
			fs := h.finish()
			k := kinds(fs)
			if k[policy.KindOneWaySIP] != c.want || k[policy.KindInput] != c.inputs {
				t.Fatalf("findings %+v", fs)
			}
			if (live > 0) != c.live {
				t.Errorf("emitted mid-run: %d, want %v", live, c.live)
			}
			for _, f := range fs {
				if f.Kind == policy.KindOneWaySIP && (f.Requirement != "GEN-02" || f.Evidence[0].Packet != 1 || f.Subject != "sip syn "+c.server.String()) {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
}

func TestICMPAtTURNEndIsNoFault(t *testing.T) {
	h := newHarness(t, true, nil)
	id := txid(50)
	r := req(outside, 1, t0, client, avReal, id, 9)
	a := ans(outside, 2, t0+ms, avReal, client, id, client)
	h.d.ObserveSTUN(&r)
	h.d.ObserveSTUN(&a)
	p := &decode.Packet{Point: int(outside), Frame: 3, Time: t0 + 5*int64(time.Second), Proto: decode.ProtoICMP,
		Src: client.Addr(), Dst: avReal.Addr(), ICMPType: 3, ICMPCode: 3,
		Inner: decode.InnerTuple{Valid: true, Proto: decode.ProtoUDP, Src: avReal.Addr(), Dst: client.Addr(), SrcPort: 3478, DstPort: client.Port()}}
	h.d.ICMP(p)
	if fs := h.finish(); len(fs) != 0 {
		t.Fatalf("findings %+v", fs)
	}
	if h.d.Stats().ICMPEvents != 1 {
		t.Errorf("ICMP not seen")
	}
}

func TestICMPCorroboratesAsymmetricSYNACK(t *testing.T) {
	h := newHarness(t, true, nil)
	isn := uint32(99)
	ev := []TCPEvent{
		{Point: outside, Frame: 1, Time: t0, Src: client, Dst: vipAccess, Flags: decode.TCPSyn, Seq: isn},
		{Point: outside, Frame: 2, Time: t0 + ms, Src: access1, Dst: client, Flags: decode.TCPSyn | decode.TCPAck, Ack: isn + 1},
	}
	for i := range ev {
		h.d.ObserveTCP(&ev[i])
	}
	ic := ICMPEvent{Point: outside, Frame: 3, Time: t0 + 2*ms, Src: netip.MustParseAddr("203.0.113.1"), Dst: access1.Addr(), Type: 3, Code: 13,
		Inner: decode.InnerTuple{Valid: true, Proto: decode.ProtoTCP, Src: access1.Addr(), Dst: client.Addr(), SrcPort: 443, DstPort: client.Port()}}
	h.d.ObserveICMP(&ic)
	if len(h.live) != 1 || len(h.live[0].Evidence) != 3 || !strings.Contains(h.live[0].Evidence[2].Detail, "ICMP") {
		t.Fatalf("live %+v", h.live)
	}
}

func TestBoundsAndExpiry(t *testing.T) {
	h := newHarness(t, true, func(c *Config) { c.MaxTransactions = 8; c.MaxSYNs = 4 })
	for i := 0; i < 20; i++ {
		r := req(outside, uint64(i), t0+int64(i)*ms, client, vipAV, txid(byte(i)), 0)
		h.d.ObserveSTUN(&r)
		s := TCPEvent{Point: outside, Frame: uint64(i), Time: t0 + int64(i)*ms, Src: client, Dst: vipAccess, Flags: decode.TCPSyn, Seq: uint32(i)}
		h.d.ObserveTCP(&s)
	}
	st := h.d.Stats()
	if st.Transactions != 8 || st.TxEvicted != 12 || st.SYNs != 4 || st.SYNEvicted != 16 || st.TxPeak != 8 {
		t.Fatalf("stats %+v", st)
	}
	// Packet time moves on: everything expires, and a late answer from
	// the real address pairs with nothing.
	late := t0 + int64(time.Minute)
	a := ans(outside, 100, late, avReal, client, txid(19), client)
	h.d.ObserveSTUN(&a)
	st = h.d.Stats()
	if st.Transactions != 1 || st.SYNs != 0 {
		t.Fatalf("after expiry: %+v", st)
	}
	fs := h.finish()
	k := kinds(fs)
	if k[policy.KindAsymmetricReturn] != 0 || k[policy.KindInput] != 1 {
		t.Fatalf("findings %+v", fs)
	}
	if !strings.Contains(fs[0].Message, "bound") {
		t.Errorf("bound finding %q", fs[0].Message)
	}
}

func TestInternalRouting(t *testing.T) {
	edgeInt := ap("172.16.0.11:5061")
	cases := []struct {
		name string
		peer netip.AddrPort
		want int
	}{
		{"to the Internet", ap("203.0.113.80:80"), 1},
		{"to a front end", ap("172.16.1.10:5061"), 0},
		{"to an internal PC", ap("172.16.2.50:50000"), 0},
		{"to the A/V VIP", ap("198.51.100.102:443"), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true, nil)
			fe := FlowEvent{Point: inside, Proto: decode.ProtoTCP, Client: edgeInt, Server: c.peer, FirstFrame: 7, First: t0, Last: t0,
				Packets: [2]uint64{3, 3}}
			h.d.ObserveFlow(&fe)
			fs := h.finish()
			if kinds(fs)[policy.KindInternalRouting] != c.want || len(fs) != c.want {
				t.Fatalf("findings %+v", fs)
			}
			if c.want > 0 && (fs[0].Requirement != "HLB-09" || fs[0].Evidence[0].Packet != 7) {
				t.Errorf("finding %+v", fs[0])
			}
		})
	}
}

func TestLayer2(t *testing.T) {
	dns := ap("203.0.113.53:53")
	cases := []struct {
		name   string
		fe     FlowEvent
		kind   policy.Kind
		reqmt  string
		topoNo bool
		noHLB  bool // the point never shows the HLB's MAC (a client's NIC)
	}{
		{"outbound via the HLB", FlowEvent{Client: ap("198.51.100.11:5555"), Server: dns,
			MAC: [2]flows.MACPair{{Seen: true, Src: macEdge1, Dst: macHLB}, {Seen: true, Src: macHLB, Dst: macEdge1}}}, "", "", false, false},
		{"outbound via a router", FlowEvent{Client: ap("198.51.100.11:5555"), Server: dns,
			MAC: [2]flows.MACPair{{Seen: true, Src: macEdge1, Dst: macRouter}, {Seen: true, Src: macRouter, Dst: macEdge1}}}, policy.KindDefaultGateway, "HLB-10", false, false},
		{"outside the HLB (routed frames)", FlowEvent{Client: ap("198.51.100.13:3478"), Server: ap("192.0.2.60:3478"),
			MAC: [2]flows.MACPair{{Seen: true, Src: macHLB, Dst: macRouter}, {Seen: true, Src: macRouter, Dst: macHLB}}}, "", "", false, false},
		{"inbound via the HLB, answered via a router", FlowEvent{Client: client, Server: access1,
			MAC: [2]flows.MACPair{{Seen: true, Src: macHLB, Dst: macEdge1}, {Seen: true, Src: macEdge1, Dst: macRouter}}}, policy.KindAsymmetricReturn, "HLB-10", false, false},
		{"no topology", FlowEvent{Client: ap("198.51.100.11:5555"), Server: dns,
			MAC: [2]flows.MACPair{{Seen: true, Src: macEdge1, Dst: macRouter}, {Seen: true, Src: macRouter, Dst: macEdge1}}}, "", "", true, false},
		{"at a client's NIC", FlowEvent{Client: client, Server: access1,
			MAC: [2]flows.MACPair{{Seen: true, Src: macEdge1, Dst: macRouter}, {Seen: true, Src: macRouter, Dst: macEdge1}}}, "", "", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, !c.topoNo, nil)
			if !c.noHLB {
				// Another flow shows the point is on the HLB's segment.
				seg := TCPEvent{Point: inside, Time: t0, Src: client, Dst: access1, Flags: decode.TCPSyn, HasMAC: true, SrcMAC: macHLB, DstMAC: macEdge1}
				h.d.ObserveTCP(&seg)
			}
			fe := c.fe
			fe.Point, fe.Proto, fe.FirstFrame, fe.First, fe.Last, fe.Packets = inside, decode.ProtoUDP, 3, t0, t0, [2]uint64{2, 2}
			h.d.ObserveFlow(&fe)
			fs := h.finish()
			if c.kind == "" {
				if len(fs) != 0 {
					t.Fatalf("findings %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Kind != c.kind || fs[0].Requirement != c.reqmt {
				t.Fatalf("findings %+v", fs)
			}
			if !strings.Contains(fs[0].Filter, "eth.dst == 00:1b:54:aa:00:01") {
				t.Errorf("filter %q", fs[0].Filter)
			}
		})
	}
}

func TestDirectServerReturn(t *testing.T) {
	h := newHarness(t, true, nil)
	// edge1's own traffic teaches its MAC; then answers from the VIP carry it.
	learn := FlowEvent{Point: inside, Proto: decode.ProtoUDP, Client: ap("198.51.100.11:5555"), Server: ap("203.0.113.53:53"), FirstFrame: 1,
		Packets: [2]uint64{1, 1}, MAC: [2]flows.MACPair{{Seen: true, Src: macEdge1, Dst: macHLB}, {Seen: true, Src: macHLB, Dst: macEdge1}}}
	dsr := FlowEvent{Point: inside, Proto: decode.ProtoTCP, Client: client, Server: vipAccess, FirstFrame: 2, Packets: [2]uint64{5, 5},
		MAC: [2]flows.MACPair{{Seen: true, Src: macHLB, Dst: macEdge1}, {Seen: true, Src: macEdge1, Dst: macRouter}},
		TCP: flows.TCPInfo{SYN: true, SYNACK: true, SYNACKFrame: 3}}
	ok := FlowEvent{Point: outside, Proto: decode.ProtoTCP, Client: client, Server: vipAccess, FirstFrame: 2, Packets: [2]uint64{5, 5},
		MAC: [2]flows.MACPair{{Seen: true, Src: macRouter, Dst: macHLB}, {Seen: true, Src: macHLB, Dst: macRouter}}}
	for _, fe := range []FlowEvent{learn, dsr, ok} {
		h.d.ObserveFlow(&fe)
	}
	fs := h.finish()
	if len(fs) != 1 || fs[0].Kind != policy.KindAsymmetricReturn || !strings.Contains(fs[0].Message, "direct server return") || fs[0].Evidence[0].Packet != 3 {
		t.Fatalf("findings %+v", fs)
	}
}

func TestManyUsersFromOneSourceWithoutTopology(t *testing.T) {
	cases := []struct {
		name  string
		src   netip.Addr
		users int
		want  int
	}{
		{"HLB SNAT address in the Edge subnet", hlbExt, 3, 1},
		{"two users only", hlbExt, 2, 0},
		{"a corporate NAT elsewhere", netip.MustParseAddr("203.0.113.200"), 10, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, false, nil)
			for i := 0; i < c.users; i++ {
				for rep := 0; rep < 2; rep++ { // the same user twice counts once
					r := req(inside, uint64(10*i+rep), t0+int64(i)*ms, netip.AddrPortFrom(c.src, uint16(40000+i)), avReal, txid(byte(10*i+rep)), uint64(100+i))
					h.d.ObserveSTUN(&r)
				}
			}
			fs := h.finish()
			if len(fs) != c.want {
				t.Fatalf("findings %+v", fs)
			}
			if c.want > 0 && (fs[0].Kind != policy.KindSNATAV || fs[0].Severity != policy.Warning) {
				t.Errorf("finding %+v", fs[0])
			}
		})
	}
}

func TestFlowFromHLBToAV(t *testing.T) {
	cases := []struct {
		name    string
		packets uint64
		app     classify.App
		server  netip.AddrPort
		want    int
	}{
		{"STUN session through SNAT", 40, classify.STUN, avReal, 1},
		{"health monitor", 2, classify.STUN, avReal, 0},
		{"to the Access Edge (allowed)", 40, classify.SIP, access1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true, nil)
			fe := FlowEvent{Point: inside, Proto: decode.ProtoUDP, Client: netip.AddrPortFrom(hlbExt, 5000), Server: c.server, FirstFrame: 9,
				First: t0, Last: t0, Packets: [2]uint64{c.packets / 2, c.packets / 2}, App: c.app}
			h.d.ObserveFlow(&fe)
			if fs := h.finish(); len(fs) != c.want {
				t.Fatalf("findings %+v", fs)
			}
		})
	}
}

func TestUnchecked(t *testing.T) {
	h := newHarness(t, false, nil)
	u := strings.Join(h.d.Unchecked(), "\n")
	for _, want := range []string{"internal-routing", "default-gateway", "snat-av", "one-way-sip"} {
		if !strings.Contains(u, want) {
			t.Errorf("Unchecked lacks %s:\n%s", want, u)
		}
	}
	h = newHarness(t, true, nil)
	if u := h.d.Unchecked(); len(u) != 0 {
		t.Errorf("full topology, nothing seen: %q", u)
	}
}

func TestQueuedWithoutEmit(t *testing.T) {
	d := New(Config{Topology: topo(t)})
	id := txid(1)
	r := req(outside, 1, t0, client, vipAV, id, 0)
	a := ans(outside, 2, t0+ms, avReal, client, id, client)
	d.ObserveSTUN(&r)
	d.ObserveSTUN(&a)
	var got []*policy.Finding
	d.Finish(func(f *policy.Finding) { got = append(got, f) })
	if len(got) != 1 || got[0].Evidence[0].Point != "point0" || got[0].Flows[0] != "f0-1" {
		t.Fatalf("got %+v", got)
	}
	d.Finish(func(f *policy.Finding) { t.Errorf("second Finish emitted %+v", f) })
}

func BenchmarkSTUN(b *testing.B) {
	d := New(Config{Topology: topo(b), Emit: func(*policy.Finding) {}})
	evs := make([]STUNEvent, 2048)
	for i := 0; i < len(evs); i += 2 {
		id := txid(0)
		id[8], id[9], id[10] = byte(i), byte(i>>8), byte(i>>16)
		evs[i] = req(outside, uint64(i), 0, client, vipAV, id, 42)
		evs[i+1] = ans(outside, uint64(i+1), 0, vipAV, client, id, client)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := &evs[i%len(evs)]
		e.Time = t0 + int64(i)*3*ms // ~8000 transactions in flight, expiring, not evicted
		if e.Class == classify.ClassRequest {
			e.TxID[11], e.TxID[12] = byte(i>>11), byte(i>>19) // a fresh transaction each round
			evs[i%len(evs)+1].TxID = e.TxID
		}
		d.ObserveSTUN(e)
	}
}

func BenchmarkTCP(b *testing.B) {
	d := New(Config{Topology: topo(b), Emit: func(*policy.Finding) {}})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		isn := uint32(i/2) * 2654435761
		at := t0 + int64(i)*3*ms
		var e TCPEvent
		if i%2 == 0 {
			e = TCPEvent{Point: outside, Frame: uint64(i), Time: at, Src: client, Dst: vipAccess, Flags: decode.TCPSyn, Seq: isn}
		} else {
			e = TCPEvent{Point: outside, Frame: uint64(i), Time: at, Src: vipAccess, Dst: client, Flags: decode.TCPSyn | decode.TCPAck, Ack: isn + 1}
		}
		d.ObserveTCP(&e)
	}
}

func TestRingGrowsInOrder(t *testing.T) {
	var r ring[uint32, int]
	r.init(1000)
	for i := 0; i < 1200; i++ {
		v, _ := r.insert(uint32(i), int64(i), nil)
		*v = i
	}
	if r.n != 1000 || len(r.slots) != 1000 {
		t.Fatalf("n %d slots %d", r.n, len(r.slots))
	}
	for i := 0; i < 1200; i++ {
		v := r.get(uint32(i))
		if (i < 200) != (v == nil) || (v != nil && *v != i) {
			t.Fatalf("key %d: %v", i, v)
		}
	}
	var dropped int
	r.expire(700, func(*int, bool) { dropped++ })
	if dropped != 500 || r.n != 500 || r.get(699) != nil || r.get(700) == nil {
		t.Fatalf("expire: dropped %d n %d", dropped, r.n)
	}
}

func BenchmarkSTUNSendSkipped(b *testing.B) {
	d := New(Config{Topology: topo(b), Emit: func(*policy.Finding) {}})
	f := &flows.Flow{Point: 0, Proto: decode.ProtoUDP, Client: flows.Endpoint{Addr: client.Addr(), Port: client.Port()},
		Server: flows.Endpoint{Addr: avReal.Addr(), Port: avReal.Port()}, FirstFrame: 1}
	m := &classify.STUNMessage{Variant: classify.VariantMSTURN, Type: 0x0004, Class: classify.ClassRequest, Method: classify.MethodMSSend, TxID: txid(1)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d.STUN(f, flows.C2S, uint64(i), t0+int64(i), m)
	}
}

func BenchmarkFlowEnd(b *testing.B) {
	d := New(Config{Topology: topo(b), Emit: func(*policy.Finding) {}})
	f := &flows.Flow{Point: 0, Proto: decode.ProtoUDP, Client: flows.Endpoint{Addr: client.Addr(), Port: client.Port()},
		Server: flows.Endpoint{Addr: avReal.Addr(), Port: avReal.Port()}, FirstFrame: 1, Packets: [2]uint64{10, 10}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d.FlowEnd(f, "f0-1")
	}
}

func TestIPv6(t *testing.T) {
	h := newHarness(t, false, nil)
	c6, vip6, real6 := ap("[2001:db8:1::10]:50000"), ap("[2001:db8:e::102]:3478"), ap("[2001:db8:e::13]:3478")
	id := txid(77)
	r := req(outside, 1, t0, c6, vip6, id, 0)
	a := ans(outside, 2, t0+ms, real6, c6, id, c6)
	h.d.ObserveSTUN(&r)
	h.d.ObserveSTUN(&a)
	vipTCP, realTCP := ap("[2001:db8:e::100]:443"), ap("[2001:db8:e::11]:443")
	ev := []TCPEvent{
		{Point: outside, Frame: 3, Time: t0, Src: c6, Dst: vipTCP, Flags: decode.TCPSyn, Seq: 5},
		{Point: outside, Frame: 4, Time: t0 + ms, Src: realTCP, Dst: c6, Flags: decode.TCPSyn | decode.TCPAck, Ack: 6},
		{Point: outside, Frame: 5, Time: t0 + 2*ms, Src: c6, Dst: realTCP, Flags: decode.TCPRst, Seq: 6},
	}
	for i := range ev {
		h.d.ObserveTCP(&ev[i])
	}
	fs := h.finish()
	if len(fs) != 2 {
		t.Fatalf("findings %+v", fs)
	}
	for _, f := range fs {
		if f.Kind != policy.KindAsymmetricReturn || !strings.Contains(f.Message, "[2001:db8:e::") {
			t.Errorf("finding %+v", f)
		}
	}
	if !strings.HasPrefix(fs[1].Filter, "ipv6.addr == 2001:db8:1::10 && tcp.port == 50000") {
		t.Errorf("filter %q", fs[1].Filter)
	}
}
