// Package detect holds the cross-flow detectors of the load-balancer faults
// of edge-port-policy.md: SNAT on A/V (HLB-02/06/07), asymmetric returns
// (HLB-03, HLB-10), one-way SIP (GEN-02), internal routing (HLB-09) and the
// default gateway (HLB-10). They join what single flows cannot show: the
// same STUN transaction id or TCP initial sequence number seen in two
// 5-tuples (a VIP and a real address) or at two capture points (outside
// the HLB, inside it, on an Edge).
//
// The detector is fed compact, self-contained events (STUNEvent, TCPEvent,
// ICMPEvent, FlowEvent: copies that alias no packet buffer or Flow) in
// packet-time order, from one goroutine. Sharded
// flow workers build the events with MakeSTUNEvent, MakeTCPEvent and
// MakeFlowEvent and hand them to the goroutine that owns the Detector; a
// single-threaded pipeline calls the STUN, TCP, ICMP and FlowEnd
// conveniences directly from the flow table's hooks. All state is bounded
// by Config and expires on packet time; Stats counts what a bound dropped.
//
// Wiring, single-threaded:
//
//	d := detect.New(detect.Config{Topology: top, PointName: name, Emit: sinkFinding})
//	table := flows.NewTable(cfg, flows.Hooks{
//		STUN: d.STUN, // every STUN/MS-TURN message, both directions
//		Packet: func(f *flows.Flow, dir flows.Dir, p *decode.Packet) {
//			if p.Proto == decode.ProtoTCP && p.TCPFlags&(decode.TCPSyn|decode.TCPRst) != 0 {
//				d.TCP(f, dir, p) // SYN, SYN-ACK, RST
//			}
//		},
//		End: func(f *flows.Flow) { d.FlowEnd(f, f.ID()) },
//	})
//	// per packet, merged by time over all inputs:
//	if p.Proto == decode.ProtoICMP || p.Proto == decode.ProtoICMPv6 { d.ICMP(p) } else { table.Packet(p) }
//	// live: d.Advance(now) beside table.Advance(now)
//	// end of input:
//	table.Flush(); d.Finish(sinkFinding); notes := d.Unchecked()
//
// Sharded: workers call Wanted/MakeSTUNEvent, MakeTCPEvent, MakeFlowEvent
// (and the reader MakeICMPEvent) and the detector's goroutine calls the
// Observe* methods with the events merged by (Time, Point, Frame), a
// FlowEvent at the time its flow left the table. Pairing does not depend on
// the order within the expiry window, so the findings are those of the
// single-threaded run; only the order they are emitted in may differ.
package detect

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/edgeaudit/edgeaudit/policy"
)

// Config configures a Detector. Zero values take the defaults.
type Config struct {
	// Topology names the pool's addresses; nil runs the checks that need
	// no roles and Unchecked says which could not be made.
	Topology *policy.Topology
	// PointName names a capture point for evidence ("client.pcap").
	// nil names points by number.
	PointName func(point int) string
	// FlowID names a flow in Finding.Flows from its point and first frame;
	// nil uses flows.Flow.ID's format ("f<point>-<frame>").
	FlowID func(point int, firstFrame uint64) string
	// Emit receives findings the moment they are established mid-run.
	// nil queues them until Finish hands them to its emit.
	Emit func(*policy.Finding)

	// MaxTransactions bounds the STUN transactions held while waiting
	// for answers and for the same transaction at other points.
	MaxTransactions int
	// MaxSYNs bounds the TCP SYNs held for pairing with SYN-ACKs by ISN.
	MaxSYNs int
	// TxTimeout is how long, on packet time, a transaction or SYN waits
	// for its answer or its other legs.
	TxTimeout time.Duration
	// MaxClockSkew is the largest clock offset between capture points
	// that correlation tolerates.
	MaxClockSkew time.Duration
	// MaxSources bounds the source addresses whose distinct A/V users are
	// counted (the no-topology SNAT heuristic).
	MaxSources int
	// SNATUsers is how many distinct A/V users from one source in the
	// Edge's own subnet make the no-topology SNAT warning.
	SNATUsers int
	// MaxPending bounds the findings held until the whole picture is
	// known (one-way SIP candidates, MAC observations).
	MaxPending int
}

// Defaults are sized for a busy pool: 16384 STUN transactions and 8192
// SYNs in flight within TxTimeout+MaxClockSkew. Full, they take about
// 5 MB and 1 MB with the sightings one capture point gives (a request and
// its answer, a SYN), 11 MB and 6 MB if every entry held all it may; they
// grow with use, a few hundred KB on a quiet capture.
var Defaults = Config{
	MaxTransactions: 1 << 14,
	MaxSYNs:         1 << 13,
	TxTimeout:       20 * time.Second,
	MaxClockSkew:    5 * time.Second,
	MaxSources:      4096,
	SNATUsers:       3,
	MaxPending:      4096,
}

func (c Config) withDefaults() Config {
	d := Defaults
	d.Topology, d.PointName, d.FlowID, d.Emit = c.Topology, c.PointName, c.FlowID, c.Emit
	if c.MaxTransactions > 0 {
		d.MaxTransactions = c.MaxTransactions
	}
	if c.MaxSYNs > 0 {
		d.MaxSYNs = c.MaxSYNs
	}
	if c.TxTimeout > 0 {
		d.TxTimeout = c.TxTimeout
	}
	if c.MaxClockSkew > 0 {
		d.MaxClockSkew = c.MaxClockSkew
	}
	if c.MaxSources > 0 {
		d.MaxSources = c.MaxSources
	}
	if c.SNATUsers > 0 {
		d.SNATUsers = c.SNATUsers
	}
	if c.MaxPending > 0 {
		d.MaxPending = c.MaxPending
	}
	return d
}

// Stats counts the detector's work and every bound it hit.
type Stats struct {
	STUNEvents, TCPEvents, ICMPEvents, FlowEvents uint64
	STUNSkipped                                   uint64 // peer-to-peer ICE checks away from the pool, not kept

	Transactions   int    // STUN transactions held now
	TxPeak         int    // most held at once
	TxEvicted      uint64 // dropped before TxTimeout because MaxTransactions was reached
	TxLegsDropped  uint64 // sightings not kept: a transaction already had maxLegs
	SYNs           int    // SYNs held now
	SYNPeak        int
	SYNEvicted     uint64 // dropped before TxTimeout because MaxSYNs was reached
	SYNLegsDropped uint64
	SourcesDropped uint64 // A/V sources not counted because MaxSources was reached
	PendingDropped uint64 // candidates not kept because MaxPending was reached
	FlaggedDropped uint64 // per-flow dedupe entries not kept (a flow may be reported twice)
	ClockSamples   uint64 // cross-point transaction pairs used for clock offsets
	Correlated     uint64 // transactions or SYNs seen at two or more points
	Findings       uint64 // findings emitted
}

// BoundHits is the number of events a bound made the detector forget.
func (s Stats) BoundHits() uint64 {
	return s.TxEvicted + s.TxLegsDropped + s.SYNEvicted + s.SYNLegsDropped + s.SourcesDropped + s.PendingDropped + s.FlaggedDropped
}

// Detector runs the cross-flow detectors. It is not safe for concurrent
// use: one goroutine feeds it, in packet-time order.
type Detector struct {
	cfg    Config
	res    *policy.Resolver
	hasTop bool

	points    map[int32]*pointState
	tx        txTable
	txLegs    slab[txLeg]
	syn       synTable
	synLegs   slab[synLeg]
	strayAcks slab[strayAck]
	sources   map[addr]*sourceUsers
	flagged   map[flagKey]struct{}
	asym      asymSet
	clocks    map[[2]int32]*clockPair

	pendingSIP []sipCandidate
	pendingGW  []sipCandidate
	vipMACs    []macObs
	edgeMACs   map[[6]byte]bool
	queued     []*policy.Finding
	names      map[int]string
	stats      Stats
	roleCache  [roleCacheSize]roleCacheEntry
	now        int64
	finished   bool
}

// New returns a Detector.
func New(cfg Config) *Detector {
	cfg = cfg.withDefaults()
	d := &Detector{
		cfg:      cfg,
		res:      policy.NewResolver(cfg.Topology),
		hasTop:   cfg.Topology != nil && cfg.Topology.Source != policy.SourceInferred,
		points:   map[int32]*pointState{},
		sources:  map[addr]*sourceUsers{},
		flagged:  map[flagKey]struct{}{},
		clocks:   map[[2]int32]*clockPair{},
		edgeMACs: map[[6]byte]bool{},
		names:    map[int]string{},
	}
	if cfg.Topology != nil && cfg.Topology.Source == policy.SourceInferred {
		// Inferred roles still help; they are used, with warnings only.
		d.hasTop = false
	}
	d.tx.init(cfg.MaxTransactions)
	d.txLegs.init(cfg.MaxTransactions * maxLegs)
	d.syn.init(cfg.MaxSYNs)
	d.synLegs.init(cfg.MaxSYNs * maxSYNLegs)
	d.strayAcks.init(cfg.MaxSYNs * maxSYNLegs)
	d.asym.init(1024)
	return d
}

// Stats returns the counters so far.
func (d *Detector) Stats() Stats {
	s := d.stats
	s.Transactions, s.TxPeak = d.tx.n, d.tx.peak
	s.SYNs, s.SYNPeak = d.syn.n, d.syn.peak
	return s
}

// Advance expires transactions and SYNs at packet time now, for sources
// that know time passes without packets (a live capture's clock).
// Asymmetric answers waiting for corroboration are reported as they go.
func (d *Detector) Advance(now int64) {
	if now > d.now {
		d.now = now
	}
	d.expire(now)
}

// pointState is what the detector knows about one capture point.
type pointState struct {
	first, last  int64
	flows        uint64 // flows ended
	oneWay       uint64 // flows with packets in one direction only
	tcpFlows     uint64
	hasMAC       bool
	hlbMAC       bool   // frames to or from the HLB's MAC: the point is on the HLB's segment
	answeredSYNs uint64 // SYNs answered by their destination here: the point sees both ways
	gwUnjudged   bool   // Edge traffic toward a router was seen here, off the HLB's segment
}

func (d *Detector) point(p int32, t int64) *pointState {
	ps := d.points[p]
	if ps == nil {
		ps = &pointState{first: t, last: t}
		d.points[p] = ps
	}
	if t != 0 {
		if t < ps.first || ps.first == 0 {
			ps.first = t
		}
		if t > ps.last {
			ps.last = t
		}
	}
	if t > d.now {
		d.now = t
	}
	return ps
}

func (d *Detector) pointName(p int32) string {
	if n, ok := d.names[int(p)]; ok {
		return n
	}
	n := ""
	if d.cfg.PointName != nil {
		n = d.cfg.PointName(int(p))
	}
	if n == "" {
		n = "point" + strconv.Itoa(int(p))
	}
	d.names[int(p)] = n
	return n
}

func (d *Detector) flowID(p int32, frame uint64) string {
	if frame == 0 {
		return ""
	}
	if d.cfg.FlowID != nil {
		return d.cfg.FlowID(int(p), frame)
	}
	return "f" + strconv.Itoa(int(p)) + "-" + strconv.FormatUint(frame, 10)
}

// emit hands a mid-run finding to Config.Emit, or queues it for Finish.
func (d *Detector) emit(f *policy.Finding) {
	if f.Count == 0 {
		f.Count = 1
	}
	d.stats.Findings++
	if d.cfg.Emit != nil && !d.finished {
		d.cfg.Emit(f)
		return
	}
	d.queued = append(d.queued, f)
}

func (d *Detector) evidence(p int32, frame uint64, t int64, detail string) policy.Evidence {
	return policy.Evidence{Point: d.pointName(p), Packet: frame, Time: time.Unix(0, t).UTC(), Detail: detail}
}

// roles returns the roles of a compact address (RoleAny when unknown),
// through a small direct-mapped cache: the same few pool addresses come
// up on every event.
func (d *Detector) roles(a addr) policy.Role {
	h := uint32(2166136261)
	for _, b := range a.a[8:] {
		h = (h ^ uint32(b)) * 16777619
	}
	c := &d.roleCache[h&(roleCacheSize-1)]
	if c.ok && c.a == a.a {
		return c.r
	}
	r := d.res.Roles(a.ip())
	*c = roleCacheEntry{a: a.a, r: r, ok: true}
	return r
}

const roleCacheSize = 512

type roleCacheEntry struct {
	a  [16]byte
	r  policy.Role
	ok bool
}

// addr is a compact, comparable endpoint: the address as 16 bytes (IPv4
// mapped), the port, and whether it is IPv4.
type addr struct {
	a    [16]byte
	port uint16
	v4   bool
}

func addrOf(ap netip.AddrPort) addr {
	a := ap.Addr()
	return addr{a: a.As16(), port: ap.Port(), v4: a.Is4() || a.Is4In6()}
}

func addrFrom(a netip.Addr, port uint16) addr {
	return addr{a: a.As16(), port: port, v4: a.Is4() || a.Is4In6()}
}

func (a addr) valid() bool { return a != addr{} }

func (a addr) ip() netip.Addr {
	x := netip.AddrFrom16(a.a)
	if a.v4 {
		return x.Unmap()
	}
	return x
}

func (a addr) ap() netip.AddrPort { return netip.AddrPortFrom(a.ip(), a.port) }

func (a addr) String() string { return a.ap().String() }

func (a addr) host() addr { return addr{a: a.a, v4: a.v4} }

func (a addr) sameHost(b addr) bool { return a.a == b.a }

// private reports addresses that are never Internet addresses: RFC 1918,
// ULA, loopback, link-local, CGNAT 100.64/10, unspecified and multicast.
func (a addr) private() bool {
	ip := a.ip()
	if ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
		return true
	}
	if a.v4 {
		b := ip.As4()
		return b[0] == 100 && b[1]&0xC0 == 64
	}
	return false
}

// sameSubnet reports whether a and b share a /24 (IPv4) or /64 (IPv6):
// an HLB's SNAT address sits in its Edge nodes' subnet, a client's NAT
// does not.
func sameSubnet(a, b addr) bool {
	if a.v4 != b.v4 {
		return false
	}
	if a.v4 {
		return a.a[12] == b.a[12] && a.a[13] == b.a[13] && a.a[14] == b.a[14]
	}
	return [8]byte(a.a[:8]) == [8]byte(b.a[:8])
}

// flagKey dedupes per-flow findings between the event that establishes
// them and the flow's end.
type flagKey struct {
	point          int32
	proto          uint8
	kind           uint8
	client, server addr
}

const (
	flagSNAT uint8 = iota + 1
)

func (d *Detector) flag(k flagKey) bool {
	if _, ok := d.flagged[k]; ok {
		return false
	}
	if len(d.flagged) >= d.cfg.MaxPending*4 {
		d.stats.FlaggedDropped++
		return true
	}
	d.flagged[k] = struct{}{}
	return true
}
