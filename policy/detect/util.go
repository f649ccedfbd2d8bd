package detect

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy"
)

func itoa(n int) string { return strconv.Itoa(n) }

func hex4(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}

var stunCookie = [4]byte{0x21, 0x12, 0xA4, 0x42}

// txShort is a transaction id as people read it: the first bytes of its
// random part (after the RFC 5389 cookie when there is one).
func txShort(id [16]byte) string {
	b := id[:]
	if [4]byte(b[:4]) == stunCookie {
		b = b[4:]
	}
	return hex.EncodeToString(b[:3]) + "…"
}

func colonHex(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(hex.EncodeToString([]byte{c}))
	}
	return s.String()
}

// stunFilter is a Wireshark display filter for one transaction: stun.id
// (the 96 bits after the cookie) where Wireshark decodes RFC 5389 STUN,
// classicstun.id for cookie-less UDP, and the raw bytes on TCP, where
// Wireshark does not parse MS-TURN's framing.
func stunFilter(id [16]byte, proto uint8) string {
	switch {
	case proto == decode.ProtoTCP:
		return "frame contains " + colonHex(id[:])
	case [4]byte(id[:4]) == stunCookie:
		return "stun.id == " + colonHex(id[4:])
	default:
		return "classicstun.id == " + colonHex(id[:])
	}
}

// roleAddr writes an address with its role when the topology names one.
func roleAddr(a addr, r policy.Role) string {
	if r == policy.RoleAny || r == 0 {
		return a.String()
	}
	return a.String() + " (" + r.String() + ")"
}

func (d *Detector) flowIDs(p int32, frames ...uint64) []string {
	var out []string
	for _, f := range frames {
		if id := d.flowID(p, f); id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func ipFilter(a addr) string {
	if a.v4 {
		return "ip.addr == " + a.ip().String()
	}
	return "ipv6.addr == " + a.ip().String()
}

func srcFilter(a addr) string {
	if a.v4 {
		return "ip.src == " + a.ip().String()
	}
	return "ipv6.src == " + a.ip().String()
}

func dstFilter(a addr) string {
	if a.v4 {
		return "ip.dst == " + a.ip().String()
	}
	return "ipv6.dst == " + a.ip().String()
}

func macString(m [6]byte) string { return colonHex(m[:]) }

// expire forgets transactions and SYNs older than the timeout plus the
// clock skew tolerated between points, on packet time.
func (d *Detector) expire(now int64) {
	cutoff := now - int64(d.cfg.TxTimeout) - int64(d.cfg.MaxClockSkew)
	d.tx.expire(cutoff, d.txDrop)
	d.syn.expire(cutoff, d.synDrop)
}

// clockPair collects time differences of transactions seen at two points.
type clockPair struct {
	samples [64]int64 // time at the higher point minus time at the lower
	n       int
	med     int64 // median of samples when medN == n
	medN    int
}

func (d *Detector) clockSample(p1 int32, t1 int64, p2 int32, t2 int64) {
	if p1 > p2 {
		p1, p2, t1, t2 = p2, p1, t2, t1
	}
	k := [2]int32{p1, p2}
	c := d.clocks[k]
	if c == nil {
		c = &clockPair{}
		d.clocks[k] = c
	}
	c.samples[c.n%len(c.samples)] = t2 - t1
	c.n++
	d.stats.ClockSamples++
}

// offset returns the median clock offset of p2 relative to p1 and how
// many samples it rests on.
func (d *Detector) offset(p1, p2 int32) (int64, int) {
	sign := int64(1)
	if p1 > p2 {
		p1, p2, sign = p2, p1, -1
	}
	c := d.clocks[[2]int32{p1, p2}]
	if c == nil || c.n == 0 {
		return 0, 0
	}
	if c.medN == c.n {
		return sign * c.med, c.n
	}
	n := min(c.n, len(c.samples))
	var buf [64]int64
	s := buf[:n]
	copy(s, c.samples[:n])
	slices.Sort(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	c.med, c.medN = m, c.n
	return sign * m, c.n
}

// sameMoment reports whether sightings at two points can be the same
// packet: within MaxClockSkew once the points' estimated offset (after
// three samples) is taken out.
func (d *Detector) sameMoment(p1 int32, t1 int64, p2 int32, t2 int64) bool {
	delta := t2 - t1
	if off, n := d.offset(p1, p2); n >= 3 {
		delta -= off
	}
	if delta < 0 {
		delta = -delta
	}
	return delta <= int64(d.cfg.MaxClockSkew)
}

// Offset is the estimated clock offset between two capture points.
type Offset struct {
	PointA, PointB int
	A, B           string
	// Offset is B's clock minus A's: add it to a time at A to get B's.
	Offset  time.Duration
	Samples int // shared transactions and SYNs it rests on
}

// Offsets returns the clock offsets estimated from transactions and SYNs
// seen at two points (points whose time ranges do not overlap share none).
func (d *Detector) Offsets() []Offset {
	var out []Offset
	for k := range d.clocks {
		off, n := d.offset(k[0], k[1])
		out = append(out, Offset{PointA: int(k[0]), PointB: int(k[1]), A: d.pointName(k[0]), B: d.pointName(k[1]),
			Offset: time.Duration(off), Samples: n})
	}
	slices.SortFunc(out, func(a, b Offset) int {
		if a.PointA != b.PointA {
			return a.PointA - b.PointA
		}
		return a.PointB - b.PointB
	})
	return out
}
