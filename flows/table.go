package flows

import (
	"hash/maphash"
	"time"
	"unsafe"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows/classify"
)

// Config bounds the table. Zero values take the defaults.
type Config struct {
	MaxFlows         int           // flows held at once; the least recently active is evicted beyond it
	StreamBytes      int           // in-order bytes kept per TCP direction for classification
	TotalStreamBytes int           // bytes buffered over all flows
	Datagrams        int           // UDP payloads kept per direction for classification
	UDPTimeout       time.Duration // idle time after which a UDP flow ends
	TCPTimeout       time.Duration // idle time after which an open TCP flow ends
	TCPClosedTimeout time.Duration // linger after FIN both ways or RST
	// DNSTimeout is the idle time after which a UDP flow classified as
	// DNS ends: an exchange is over once answered, and a busy resolver's
	// thousands of finished ones need not be held for UDPTimeout (Zeek's
	// dns_session_timeout is the same 10 s).
	DNSTimeout time.Duration
}

// Defaults are sized for a busy Edge: thousands of concurrent media flows.
var Defaults = Config{
	MaxFlows:         65_536,
	StreamBytes:      16 << 10,
	TotalStreamBytes: 64 << 20,
	Datagrams:        8,
	UDPTimeout:       2 * time.Minute,
	TCPTimeout:       5 * time.Minute,
	TCPClosedTimeout: 30 * time.Second,
	DNSTimeout:       10 * time.Second,
}

func (c Config) withDefaults() Config {
	d := Defaults
	if c.MaxFlows > 0 {
		d.MaxFlows = c.MaxFlows
	}
	if c.StreamBytes > 0 {
		d.StreamBytes = c.StreamBytes
	}
	if c.TotalStreamBytes > 0 {
		d.TotalStreamBytes = c.TotalStreamBytes
	}
	if c.Datagrams > 0 {
		d.Datagrams = c.Datagrams
	}
	if c.UDPTimeout > 0 {
		d.UDPTimeout = c.UDPTimeout
	}
	if c.TCPTimeout > 0 {
		d.TCPTimeout = c.TCPTimeout
	}
	if c.TCPClosedTimeout > 0 {
		d.TCPClosedTimeout = c.TCPClosedTimeout
	}
	if c.DNSTimeout > 0 {
		d.DNSTimeout = c.DNSTimeout
	}
	return d
}

// Hooks receive what the table learns. Each runs on the table's goroutine;
// the Flow passed in is reused after End returns, so copy what you keep.
type Hooks struct {
	// Packet is called for every TCP/UDP packet after accounting.
	Packet func(f *Flow, d Dir, p *decode.Packet)
	// STUN is called for every STUN/MS-TURN message found in a flow.
	STUN func(f *Flow, d Dir, frame uint64, t int64, m *classify.STUNMessage)
	// Decided is called once, when classification is final.
	Decided func(f *Flow)
	// End is called when a flow leaves the table.
	End func(f *Flow)
}

// Stats counts what the table did, including every bound it hit.
type Stats struct {
	Flows         uint64 // flows created
	Active        int    // flows in the table now
	Peak          int    // most flows held at once
	Expired       uint64
	Evicted       uint64 // ended early because MaxFlows was reached
	Reused        uint64 // ended because a new SYN reused the 5-tuple
	StreamDropped uint64 // payload bytes not kept because a stream bound was hit
	BudgetHits    uint64 // times TotalStreamBytes was exhausted
}

const (
	listUDP = iota
	listTCP
	listClosed
	listDNS
	numLists
)

// Table is the flow table. It is not safe for concurrent use.
type Table struct {
	cfg   Config
	hooks Hooks
	// m indexes flows by a seeded hash of their Key, each entry the head
	// of a chain (almost always of one flow) through Flow.chain. A
	// uint64-keyed map takes the runtime's fast path and its slots are a
	// third the size of Key-keyed ones, so a lookup misses the cache less;
	// the full key is compared in the flow, which the packet touches anyway.
	m    map[uint64]*Flow
	seed maphash.Seed
	n    int // flows in the table
	// recent is a direct-mapped cache of the index, small enough to stay
	// in the core's cache: media flows carry most packets, and a hit
	// saves the map's cache misses.
	recent   [recentSlots]*Flow
	heads    [numLists]*Flow
	tails    [numLists]*Flow
	timeout  [numLists]int64
	free     []*Flow
	draining bool // Flush is ending every flow
	clsFree  []*classState
	budget   int
	now      int64
	stats    Stats
	msg      classify.STUNMessage
}

// NewTable returns an empty table.
func NewTable(cfg Config, hooks Hooks) *Table {
	cfg = cfg.withDefaults()
	t := &Table{cfg: cfg, hooks: hooks, m: make(map[uint64]*Flow, 1024), seed: maphash.MakeSeed(), budget: cfg.TotalStreamBytes}
	t.timeout[listUDP] = int64(cfg.UDPTimeout)
	t.timeout[listTCP] = int64(cfg.TCPTimeout)
	t.timeout[listClosed] = int64(cfg.TCPClosedTimeout)
	t.timeout[listDNS] = int64(cfg.DNSTimeout)
	return t
}

// Stats returns the counters so far.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Active = t.n
	return s
}

// Now is the latest packet time the table has seen.
func (t *Table) Now() int64 { return t.now }

// Packet accounts one decoded packet. Packets that are not TCP or UDP, and
// fragments that did not complete a datagram, are ignored.
func (t *Table) Packet(p *decode.Packet) {
	if (p.Proto != decode.ProtoTCP && p.Proto != decode.ProtoUDP) || p.Fragment || p.IPVersion == 0 {
		return
	}
	if p.Time > t.now {
		t.now = p.Time
		t.expire()
	}
	k := KeyOf(p)
	h := t.hash(&k)
	f := t.find(&k, h)
	if f != nil && p.Proto == decode.ProtoTCP && f.closing && p.TCPFlags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn &&
		!(f.TCP.SYN && p.Seq == f.TCP.ISN) {
		t.stats.Reused++
		t.end(f, EndReused)
		f = nil
	}
	if f == nil {
		f = t.newFlow(k, h, p)
	}
	d := C2S
	if p.Src != f.Client.Addr || p.SrcPort != f.Client.Port {
		d = S2C
	}
	t.account(f, d, p)
	if p.Proto == decode.ProtoTCP {
		t.tcp(f, d, p)
	} else {
		t.udp(f, d, p)
	}
	if t.hooks.Packet != nil {
		t.hooks.Packet(f, d, p)
	}
}

// Advance expires flows idle at packet time now, for sources that can tell
// time passes without packets (a live capture's clock).
func (t *Table) Advance(now int64) {
	if now > t.now {
		t.now = now
		t.expire()
	}
}

// Flush ends every flow still in the table, at the end of input.
func (t *Table) Flush() {
	// Nothing will be read after this: flows that end are let go, not
	// kept for reuse, so the records made from them replace them in
	// memory rather than add to them.
	t.free, t.clsFree, t.draining = nil, nil, true
	for i := 0; i < numLists; i++ {
		for t.heads[i] != nil {
			t.end(t.heads[i], EndOfInput)
		}
	}
	t.draining = false
}

// Each calls fn for every flow in the table, for periodic snapshots.
func (t *Table) Each(fn func(*Flow)) {
	for i := 0; i < numLists; i++ {
		for f := t.heads[i]; f != nil; f = f.next {
			fn(f)
		}
	}
}

func (t *Table) newFlow(k Key, h uint64, p *decode.Packet) *Flow {
	if t.n >= t.cfg.MaxFlows {
		t.evictOne()
	}
	var f *Flow
	if n := len(t.free); n > 0 {
		f = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		f = new(Flow)
	}
	f.Key = k
	f.Point = p.Point
	f.Proto = p.Proto
	f.FirstFrame = p.Frame
	f.First = p.Time
	f.Client = Endpoint{p.Src, p.SrcPort}
	f.Server = Endpoint{p.Dst, p.DstPort}
	if serverSpeaksFirst(p, &t.msg) {
		f.Client, f.Server = f.Server, f.Client
	}
	f.list = listUDP
	if p.Proto == decode.ProtoTCP {
		f.list = listTCP
	}
	f.hash, f.chain = h, t.m[h]
	t.m[h] = f
	t.n++
	t.push(f, p.Time)
	t.stats.Flows++
	if t.n > t.stats.Peak {
		t.stats.Peak = t.n
	}
	return f
}

// serverSpeaksFirst tells from the first packet seen that its sender is the
// server: a SYN-ACK, or an answer (STUN response, DNS response, SIP status).
func serverSpeaksFirst(p *decode.Packet, m *classify.STUNMessage) bool {
	if p.Proto == decode.ProtoTCP {
		return p.TCPFlags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn|decode.TCPAck
	}
	return isAnswer(p.Payload, p.SrcPort, m)
}

func (t *Table) account(f *Flow, d Dir, p *decode.Packet) {
	if p.Time < f.First {
		f.First = p.Time // captures are not always in time order
	}
	if p.Time > f.Last {
		f.Last = p.Time
	}
	if f.Packets[d] == 0 || p.Time < f.DirFirst[d] {
		f.DirFirst[d] = p.Time
	}
	if p.Time > f.DirLast[d] {
		f.DirLast[d] = p.Time
	}
	f.Packets[d]++
	f.Bytes[d] += uint64(p.WireLen)
	f.PayloadBytes[d] += uint64(len(p.Payload))
	if p.HasMAC {
		m := &f.MAC[d]
		if !m.Seen {
			m.Seen, m.Src, m.Dst = true, p.SrcMAC, p.DstMAC
		} else if m.Src != p.SrcMAC || m.Dst != p.DstMAC {
			m.Changed = true
		}
	}
	if len(p.Payload) > 0 {
		dm := &f.Data
		if dm.FirstFrame[d] == 0 {
			dm.FirstFrame[d], dm.FirstTime[d] = p.Frame, p.Time
		}
		dm.LastTime[d] = p.Time
		switch {
		case d == S2C:
			dm.OneWayFrom, dm.OneWayTime, dm.OneWayPackets = 0, 0, 0
		case dm.OneWayFrom == 0:
			dm.OneWayFrom, dm.OneWayTime, dm.OneWayPackets = p.Frame, p.Time, 1
		default:
			dm.OneWayPackets++
		}
	}
}

func (t *Table) tcp(f *Flow, d Dir, p *decode.Packet) {
	fl := p.TCPFlags
	tc := &f.TCP
	switch {
	case fl&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn && d == C2S:
		if !tc.SYN {
			tc.SYN, tc.ISN, tc.SYNFrame, tc.SYNTime = true, p.Seq, p.Frame, p.Time
		}
		tc.SYNs++
		if f.cls != nil {
			f.cls.streams[C2S].syn(p.Seq)
		}
	case fl&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn|decode.TCPAck && d == S2C:
		if !tc.SYNACK {
			tc.SYNACK, tc.ServerISN, tc.SYNACKAck, tc.SYNACKFrame, tc.SYNACKTime = true, p.Seq, p.Ack, p.Frame, p.Time
		}
		tc.SYNACKs++
		if f.cls != nil {
			f.cls.streams[S2C].syn(p.Seq)
		}
	case fl&decode.TCPAck != 0 && d == C2S && tc.SYNACK && !tc.Established && p.Ack == tc.ServerISN+1:
		tc.Established = true
	}
	if fl&decode.TCPRst != 0 {
		tc.RST[d]++
		t.close(f)
	}
	if fl&decode.TCPFin != 0 {
		tc.FIN[d]++
		if tc.FIN[C2S] > 0 && tc.FIN[S2C] > 0 {
			t.close(f)
		}
	}
	if len(p.Payload) == 0 || (f.Decided && f.cls == nil) {
		return
	}
	s := &t.class(f).streams[d]
	added, dropped := s.add(p.Seq, p.Payload, t.cfg.StreamBytes, &t.budget)
	if dropped > 0 || (added < len(p.Payload) && s.full && s.delivered() < t.cfg.StreamBytes) {
		t.stats.StreamDropped += uint64(dropped)
		if t.budget <= 0 {
			t.stats.BudgetHits++
		}
	}
	if added == 0 {
		return
	}
	if !f.Decided {
		t.classify(f)
	}
	if f.stun {
		t.scanSTUN(f, d, p.Frame, p.Time)
	}
}

func (t *Table) udp(f *Flow, d Dir, p *decode.Packet) {
	pl := p.Payload
	if len(pl) >= 20 && pl[0] < 4 && t.hooks.STUN != nil && classify.ParseSTUN(pl, &t.msg) {
		t.hooks.STUN(f, d, p.Frame, p.Time, &t.msg)
	}
	if f.Decided || len(pl) == 0 {
		return
	}
	c := t.class(f)
	if len(c.dgramSpan) < 2*t.cfg.Datagrams {
		n := len(pl)
		if n > maxDatagramKept {
			n = maxDatagramKept
		}
		if n <= t.budget {
			start := len(c.dgramArea)
			c.dgramArea = append(c.dgramArea, pl[:n]...)
			c.dgramSpan = append(c.dgramSpan, dgram{start: start, end: start + n, toServer: d == C2S})
			t.budget -= n
		} else {
			t.stats.BudgetHits++
		}
	}
	t.classify(f)
}

// Sizes of MS-TURN's fixed pseudo-TLS hellos ([MS-TURN] 2.1.1).
const (
	pseudoTLSClientHelloLen = 50
	pseudoTLSServerHelloLen = 83
)

// maxDatagramKept caps one kept UDP payload: the classifiers look at headers.
const maxDatagramKept = 2048

func (t *Table) classify(f *Flow) {
	c := t.class(f)
	in := &c.in
	in.Transport = f.Proto
	in.ClientPort, in.ServerPort = f.Client.Port, f.Server.Port
	if f.Proto == decode.ProtoTCP {
		in.C2S, in.S2C = c.streams[C2S].buf, c.streams[S2C].buf
		in.C2SClosed = c.streams[C2S].full || f.TCP.FIN[C2S] > 0 || f.TCP.RST[C2S] > 0 || f.EndReason != ""
		in.S2CClosed = c.streams[S2C].full || f.TCP.FIN[S2C] > 0 || f.TCP.RST[S2C] > 0 || f.EndReason != ""
	} else {
		in.Datagrams = in.Datagrams[:0]
		var n [2]int
		for _, s := range c.dgramSpan {
			in.Datagrams = append(in.Datagrams, classify.Datagram{ToServer: s.toServer, Data: c.dgramArea[s.start:s.end]})
			if s.toServer {
				n[0]++
			} else {
				n[1]++
			}
		}
		full := len(c.dgramSpan) >= 2*t.cfg.Datagrams
		in.C2SClosed = full || n[0] >= t.cfg.Datagrams || f.EndReason != ""
		in.S2CClosed = full || n[1] >= t.cfg.Datagrams || f.EndReason != ""
	}
	classify.Classify(in, &c.res)
	if !c.res.Decided && !(in.C2SClosed && in.S2CClosed) {
		return
	}
	f.Decided = true
	f.Label = labelOf(&c.res)
	if c.res.Reversed && !f.TCP.SYN && !f.TCP.SYNACK {
		// The protocol shows the first packet seen came from the server
		// (a capture that began mid-conversation); a TCP handshake, when
		// seen, is the better witness.
		f.swap()
	}
	if f.Proto == decode.ProtoTCP && f.Label.App == classify.STUN {
		f.stun = true
	}
	if f.Proto == decode.ProtoUDP && f.Label.App == classify.DNS && f.list == listUDP && f.EndReason == "" {
		t.unlink(f)
		f.list = listDNS
		t.push(f, f.Last)
	}
	if t.hooks.Decided != nil {
		t.hooks.Decided(f)
	}
	if f.stun {
		t.scanSTUN(f, C2S, f.FirstFrame, f.First)
		t.scanSTUN(f, S2C, f.FirstFrame, f.First)
	} else {
		t.releaseBuffers(f)
	}
}

// scanSTUN walks the STUN messages of a TCP direction that arrived since the
// last scan: MS-TURN's pseudo-TLS hello is skipped, then each framing the
// classifier knows is tried.
func (t *Table) scanSTUN(f *Flow, d Dir, frame uint64, ts int64) {
	s := &f.cls.streams[d]
	b := s.buf
	if s.consumed == 0 && f.stunOff[d] == 0 {
		switch {
		case d == C2S && len(b) >= pseudoTLSClientHelloLen && classify.IsPseudoTLSClientHello(b[:pseudoTLSClientHelloLen]):
			f.stunOff[d] = pseudoTLSClientHelloLen
		case d == S2C && len(b) >= pseudoTLSServerHelloLen && classify.IsPseudoTLSServerHello(b[:pseudoTLSServerHelloLen]):
			f.stunOff[d] = pseudoTLSServerHelloLen
		}
	}
	off := f.stunOff[d]
	for off < len(b) {
		// Not ok means an incomplete frame (wait for more bytes) or bytes
		// that are no framing we know (they stay until the bound releases
		// the stream).
		msg, framing, rest, ok := classify.NextSTUNFrame(b[off:])
		if !ok {
			break
		}
		off = len(b) - len(rest)
		if framing != classify.FramingMSData && t.hooks.STUN != nil && classify.ParseSTUN(msg, &t.msg) {
			t.hooks.STUN(f, d, frame, ts, &t.msg)
		}
	}
	s.consume(off, &t.budget)
	f.stunOff[d] = 0
	if s.full {
		s.release(&t.budget)
	}
}

// releaseBuffers gives the flow's classification state back to the pool.
func (t *Table) releaseBuffers(f *Flow) {
	c := f.cls
	if c == nil {
		return
	}
	f.cls = nil
	c.streams[C2S].release(&t.budget)
	c.streams[S2C].release(&t.budget)
	t.budget += len(c.dgramArea)
	if !t.draining {
		c.reset()
		t.clsFree = append(t.clsFree, c)
	}
}

// class returns the flow's classification state, taking one from the pool
// on the flow's first payload: flows that never carry any (a SYN flood)
// cost no buffers.
func (t *Table) class(f *Flow) *classState {
	if f.cls == nil {
		f.cls = t.newClass()
		if f.TCP.SYN {
			f.cls.streams[C2S].syn(f.TCP.ISN)
		}
		if f.TCP.SYNACK {
			f.cls.streams[S2C].syn(f.TCP.ServerISN)
		}
	}
	return f.cls
}

func (t *Table) newClass() *classState {
	if n := len(t.clsFree); n > 0 {
		c := t.clsFree[n-1]
		t.clsFree = t.clsFree[:n-1]
		return c
	}
	return new(classState)
}

func (t *Table) close(f *Flow) {
	if f.closing {
		return
	}
	f.closing = true
	t.unlink(f)
	f.list = listClosed
	t.push(f, t.now)
}

// expire ends the flows idle longer than their list's timeout. Flows are
// not moved on every packet (that costs cache misses on neighbours); a list
// head that saw packets since it was queued is queued again instead, so
// each flow is looked at about once per timeout and expires at most one
// timeout late.
func (t *Table) expire() {
	for i := 0; i < numLists; i++ {
		to := t.timeout[i]
		for f := t.heads[i]; f != nil && t.now-f.listAt > to; f = t.heads[i] {
			if t.now-f.Last <= to {
				t.unlink(f)
				t.push(f, f.Last)
				continue
			}
			t.stats.Expired++
			reason := EndIdle
			if i == listClosed {
				reason = EndRST
				if f.TCP.RST[C2S] == 0 && f.TCP.RST[S2C] == 0 {
					reason = EndFIN
				}
			}
			t.end(f, reason)
		}
	}
}

func (t *Table) evictOne() {
	var oldest *Flow
	for i := 0; i < numLists; i++ {
		if h := t.heads[i]; h != nil && (oldest == nil || h.Last < oldest.Last) {
			oldest = h
		}
	}
	if oldest != nil {
		t.stats.Evicted++
		t.end(oldest, EndEvicted)
	}
}

func (t *Table) end(f *Flow, reason string) {
	f.EndReason = reason
	if !f.Decided {
		t.classify(f)
	}
	if t.hooks.End != nil {
		t.hooks.End(f)
	}
	t.releaseBuffers(f)
	t.unindex(f)
	t.unlink(f)
	*f = Flow{}
	if !t.draining {
		t.free = append(t.free, f)
	}
}

// keyBytes is how much of a Key holds its fields: the padding after V4 is
// left out of the hash, since nothing promises it is zero.
const keyBytes = int(unsafe.Offsetof(Key{}.V4)) + 1

func (t *Table) hash(k *Key) uint64 {
	return maphash.Bytes(t.seed, unsafe.Slice((*byte)(unsafe.Pointer(k)), keyBytes))
}

const recentSlots = 1 << 13

// find returns the flow of k, whose hash is h, or nil.
func (t *Table) find(k *Key, h uint64) *Flow {
	slot := &t.recent[h&(recentSlots-1)]
	if f := *slot; f != nil && f.hash == h && f.Key == *k {
		return f
	}
	f := t.m[h]
	for f != nil && f.Key != *k {
		f = f.chain
	}
	if f != nil {
		*slot = f
	}
	return f
}

// unindex takes f out of its hash chain.
func (t *Table) unindex(f *Flow) {
	t.n--
	if slot := &t.recent[f.hash&(recentSlots-1)]; *slot == f {
		*slot = nil
	}
	head := t.m[f.hash]
	if head == f {
		if f.chain == nil {
			delete(t.m, f.hash)
		} else {
			t.m[f.hash] = f.chain
		}
		return
	}
	for p := head; p != nil; p = p.chain {
		if p.chain == f {
			p.chain = f.chain
			return
		}
	}
}

// The lists keep flows in order of last activity, one list per timeout, so
// expiry only ever looks at list heads.
func (t *Table) push(f *Flow, at int64) {
	i := f.list
	f.listAt = at
	f.prev, f.next = t.tails[i], nil
	if t.tails[i] != nil {
		t.tails[i].next = f
	} else {
		t.heads[i] = f
	}
	t.tails[i] = f
}

func (t *Table) unlink(f *Flow) {
	i := f.list
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		t.heads[i] = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		t.tails[i] = f.prev
	}
	f.prev, f.next = nil, nil
}
