package main

// Capture points and conversations. A scenario builds each conversation
// once, on a canonical clock, and every capture point that sees it gets
// its own copy of each packet through a leg: the addresses and MACs that
// segment shows (before or after the HLB's NAT), the latency to that
// point, and the point's clock offset. Because the transport state (ISNs,
// STUN transaction ids, payloads) is shared, the same transaction carries
// the same identifiers at every point — which is what the correlation in
// edgeaudit keys on.

import (
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"
)

// epoch is the fixed start of every generated capture.
var epoch = time.Date(2026, 3, 10, 9, 15, 0, 0, time.UTC)

// Capture is one capture point: a file of Ethernet frames.
type Capture struct {
	Name   string        // file name relative to the output directory, without extension
	Point  string        // capture point name, as the README documents it
	Offset time.Duration // this point's clock error, added to every timestamp
	recs   []rec
}

type rec struct {
	t    time.Time
	n    int // insertion order, keeps equal timestamps stable
	data []byte
}

func newCapture(name, point string) *Capture { return &Capture{Name: name, Point: point} }

func (c *Capture) add(t time.Time, data []byte) {
	c.recs = append(c.recs, rec{t: t.Add(c.Offset), n: len(c.recs), data: data})
}

// packets returns the frames in timestamp order.
func (c *Capture) packets() []rec {
	sort.SliceStable(c.recs, func(i, j int) bool {
		if !c.recs[i].t.Equal(c.recs[j].t) {
			return c.recs[i].t.Before(c.recs[j].t)
		}
		return c.recs[i].n < c.recs[j].n
	})
	return c.recs
}

// leg is one capture point's view of a conversation.
type leg struct {
	cap   *Capture
	h     [2]hop           // [0] client->server, [1] server->client
	delay [2]time.Duration // latency from the canonical clock to this point, per direction
	drop  [2]bool          // direction not seen at this point (one-way SPAN)
}

func mkLeg(c *Capture, cl, sv netip.AddrPort, cmac, smac mac) leg {
	h := hop{srcMAC: cmac, dstMAC: smac, src: cl, dst: sv}
	return leg{cap: c, h: [2]hop{h, h.reverse()}}
}

// conv is one TCP or UDP conversation seen at one or more points.
type conv struct {
	legs  []leg
	t     time.Time
	rtt   time.Duration
	rng   *rand.Rand
	last  int
	ipid  [2]uint16
	ttl   [2]uint8
	isn   [2]uint32
	nxt   [2]uint32
	win   [2]uint16
	prev  [2]tcpSeg // last segment sent per direction, for retransmissions
	lastU [2][]byte // last UDP payload per direction, for ICMP quoting
	open  bool
}

// newConv starts a conversation at t. rtt is the round trip between the
// two ends; it spaces request and answer.
func newConv(rng *rand.Rand, t time.Time, rtt time.Duration, legs ...leg) *conv {
	c := &conv{legs: legs, t: t, rtt: rtt, rng: rng, last: -1}
	c.ipid = [2]uint16{uint16(rng.Uint32()), uint16(rng.Uint32())}
	c.isn = [2]uint32{rng.Uint32(), rng.Uint32()}
	c.nxt = c.isn
	c.win = [2]uint16{1026, 1025} // scaled by 256 after the handshake
	if len(legs) > 0 {
		c.ttl = [2]uint8{ttlOf(legs[0].h[0].src.Addr()), ttlOf(legs[0].h[1].src.Addr())}
	}
	return c
}

// step advances the canonical clock before a packet from dir: a full
// round trip when the other side answers, a short gap for back-to-back
// packets from the same side.
func (c *conv) step(dir int) {
	switch {
	case c.last < 0:
	case c.last != dir:
		c.t = c.t.Add(c.rtt/2 + time.Duration(c.rng.IntN(200))*time.Microsecond)
	default:
		c.t = c.t.Add(time.Duration(40+c.rng.IntN(400)) * time.Microsecond)
	}
	c.last = dir
}

func (c *conv) wait(d time.Duration) { c.t = c.t.Add(d) }

func (c *conv) emit(dir int, build func(h hop, ipid uint16, ttl uint8) []byte) {
	c.step(dir)
	c.ipid[dir]++
	for _, l := range c.legs {
		if l.drop[dir] {
			continue
		}
		l.cap.add(c.t.Add(l.delay[dir]), build(l.h[dir], c.ipid[dir], c.ttl[dir]))
	}
}

func (c *conv) seg(dir int, s tcpSeg) {
	c.prev[dir] = s
	c.emit(dir, func(h hop, id uint16, ttl uint8) []byte { return frameTCP(h, id, ttl, s) })
}

// syn sends the client's SYN (or a retransmission of it).
func (c *conv) syn() {
	c.seg(0, tcpSeg{flags: fSYN, seq: c.isn[0], win: 64240, opts: synOpts()})
	c.nxt[0] = c.isn[0] + 1
}

func (c *conv) synAck() {
	c.seg(1, tcpSeg{flags: fSYN | fACK, seq: c.isn[1], ack: c.nxt[0], win: 65535, opts: synOpts()})
	c.nxt[1] = c.isn[1] + 1
}

func (c *conv) ack(dir int) {
	c.seg(dir, tcpSeg{flags: fACK, seq: c.nxt[dir], ack: c.nxt[1-dir], win: c.win[dir]})
}

// handshake runs SYN, SYN-ACK, ACK.
func (c *conv) handshake() {
	c.syn()
	c.synAck()
	c.ack(0)
	c.open = true
}

// send writes payload from dir in MSS-sized segments, PSH on the last.
func (c *conv) send(dir int, payload []byte) {
	const mss = 1380
	for len(payload) > 0 {
		n := min(len(payload), mss)
		fl := uint8(fACK)
		if n == len(payload) {
			fl |= fPSH
		}
		c.seg(dir, tcpSeg{flags: fl, seq: c.nxt[dir], ack: c.nxt[1-dir], win: c.win[dir], payload: payload[:n]})
		c.nxt[dir] += uint32(n)
		payload = payload[n:]
	}
}

// xfer sends payload from dir and has the peer acknowledge it.
func (c *conv) xfer(dir int, payload []byte) {
	c.send(dir, payload)
	c.ack(1 - dir)
}

// retransmit repeats dir's last segment unchanged after an RTO.
func (c *conv) retransmit(dir int, rto time.Duration) {
	c.wait(rto)
	c.last = dir
	s := c.prev[dir]
	c.emit(dir, func(h hop, id uint16, ttl uint8) []byte { return frameTCP(h, id, ttl, s) })
}

// close runs the orderly FIN exchange started by dir.
func (c *conv) close(dir int) {
	c.seg(dir, tcpSeg{flags: fFIN | fACK, seq: c.nxt[dir], ack: c.nxt[1-dir], win: c.win[dir]})
	c.nxt[dir]++
	c.seg(1-dir, tcpSeg{flags: fFIN | fACK, seq: c.nxt[1-dir], ack: c.nxt[dir], win: c.win[1-dir]})
	c.nxt[1-dir]++
	c.ack(dir)
	c.open = false
}

// reset aborts the connection from dir (RST|ACK, as Windows does).
func (c *conv) reset(dir int) {
	c.seg(dir, tcpSeg{flags: fRST | fACK, seq: c.nxt[dir], ack: c.nxt[1-dir]})
	c.open = false
}

// udp sends one datagram from dir.
func (c *conv) udp(dir int, payload []byte) {
	c.lastU[dir] = payload
	c.emit(dir, func(h hop, id uint16, ttl uint8) []byte { return frameUDP(h, id, ttl, payload) })
}

// icmpUnreach has dir answer the peer's last datagram with ICMP port
// unreachable (the application behind dir's port has gone). The quote is
// built per leg, so a translated segment quotes the translated datagram.
func (c *conv) icmpUnreach(dir int) {
	orig := c.lastU[1-dir]
	oid := c.ipid[1-dir]
	c.emit(dir, func(h hop, id uint16, ttl uint8) []byte {
		off := frameUDP(h.reverse(), oid, ttlOf(h.dst.Addr()), orig)
		return frameICMPUnreach(hop{srcMAC: h.srcMAC, dstMAC: h.dstMAC,
			src: netip.AddrPortFrom(h.src.Addr(), 0), dst: netip.AddrPortFrom(h.dst.Addr(), 0)}, id, ttl, off)
	})
}
