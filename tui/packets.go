package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// Reading packets back from the captures: the first packets of a flow for
// its timeline, and the frames behind a finding or flow for `w`. Both run
// in commands, off the UI goroutine, and take a context so leaving the
// view stops the read.

// source finds the file a capture point's packets are in. A pcapng point
// with several interfaces is named "file:iface" and lives in "file".
func (c *Context) source(point string) (PointSource, error) {
	for _, ps := range c.Points {
		if ps.Point == point {
			if ps.File == "" {
				return ps, fmt.Errorf("%s is a live interface: its packets are not on disk", P(point))
			}
			return ps, nil
		}
	}
	if i := strings.LastIndexByte(point, ':'); i > 0 {
		if ps, err := c.source(point[:i]); err == nil {
			ps.Iface = -1 // interface resolved from the final report, if at all
			if c.Data.Report != nil {
				for _, in := range c.Data.Report.Inputs {
					for k, p := range in.Points {
						if p == point {
							ps.Iface = k
						}
					}
				}
			}
			ps.Point = point
			return ps, nil
		}
	}
	return PointSource{}, fmt.Errorf("no capture file for point %s", P(point))
}

// pktLine is one packet of a flow's timeline.
type pktLine struct {
	Frame uint64
	Time  int64
	C2S   bool
	Len   int
	Flags uint8 // TCP flags
	Proto uint8
	Info  string // a short printable look at the payload
}

// flowMatcher recognises the packets of a flow record in a capture.
type flowMatcher struct {
	proto          uint8
	client, server netip.AddrPort
	iface          int // -1: any
	firstFrame     uint64
	lastNS         int64
	total          uint64
}

func newFlowMatcher(ps PointSource, f *report.Flow) (*flowMatcher, error) {
	m := &flowMatcher{iface: ps.Iface, firstFrame: f.FirstFrame, total: f.Packets.C2S + f.Packets.S2C}
	switch f.Transport {
	case "tcp":
		m.proto = decode.ProtoTCP
	case "udp":
		m.proto = decode.ProtoUDP
	default:
		return nil, fmt.Errorf("cannot pick out %s packets", P(f.Transport))
	}
	var err error
	if m.client, err = netip.ParseAddrPort(f.Client); err != nil {
		return nil, fmt.Errorf("client %s: %w", P(f.Client), err)
	}
	if m.server, err = netip.ParseAddrPort(f.Server); err != nil {
		return nil, fmt.Errorf("server %s: %w", P(f.Server), err)
	}
	if t, err := time.Parse(time.RFC3339Nano, f.Last); err == nil {
		m.lastNS = t.UnixNano()
	}
	return m, nil
}

// scan reads the capture and calls fn for each packet of the flow until fn
// returns false, every packet was seen, or the flow's last time passed.
func (m *flowMatcher) scan(ctx context.Context, path string, fn func(p *decode.Packet, c2s bool) bool) error {
	f, err := decode.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := decode.NewDecoder(decode.DecoderOptions{})
	var p decode.Packet
	var seen, n uint64
	for {
		if err := f.Next(&p); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if n++; n&8191 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if p.Frame < m.firstFrame || (m.iface >= 0 && p.Point != m.iface) {
			continue
		}
		if m.lastNS != 0 && p.Time > m.lastNS+int64(time.Second) {
			return nil // packet times are ordered enough: the flow is over
		}
		if dec.Decode(&p) != nil || p.Proto != m.proto {
			continue
		}
		src := netip.AddrPortFrom(p.Src.Unmap(), p.SrcPort)
		dst := netip.AddrPortFrom(p.Dst.Unmap(), p.DstPort)
		c2s := src == m.client && dst == m.server
		if !c2s && !(src == m.server && dst == m.client) {
			continue
		}
		seen++
		if !fn(&p, c2s) || (m.total > 0 && seen >= m.total) {
			return nil
		}
	}
}

// firstPackets reads up to n packets of the flow.
func firstPackets(ctx context.Context, ps PointSource, f *report.Flow, n int) ([]pktLine, error) {
	m, err := newFlowMatcher(ps, f)
	if err != nil {
		return nil, err
	}
	var out []pktLine
	err = m.scan(ctx, ps.File, func(p *decode.Packet, c2s bool) bool {
		out = append(out, pktLine{Frame: p.Frame, Time: p.Time, C2S: c2s, Len: p.WireLen,
			Flags: p.TCPFlags, Proto: p.Proto, Info: peek(p.Payload)})
		return len(out) < n
	})
	return out, err
}

// flowFrames lists the frame numbers of every packet of the flow (bounded).
func flowFrames(ctx context.Context, ps PointSource, f *report.Flow) ([]uint64, error) {
	m, err := newFlowMatcher(ps, f)
	if err != nil {
		return nil, err
	}
	const most = 1_000_000
	var frames []uint64
	err = m.scan(ctx, ps.File, func(p *decode.Packet, _ bool) bool {
		frames = append(frames, p.Frame)
		return len(frames) < most
	})
	if err == nil && len(frames) == 0 {
		err = errors.New("no packet of the flow found in " + P(ps.File))
	}
	return frames, err
}

// peek shows the start of a payload: its first line if it is text (SIP,
// HTTP, XMPP), else its length in bytes. The result is printable.
func peek(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	n := min(len(b), 60)
	text := true
	for _, c := range b[:n] {
		if c == '\r' || c == '\n' {
			break
		}
		if c < 0x20 || c >= 0x7f {
			text = false
			break
		}
	}
	if !text {
		return fmt.Sprintf("%d bytes", len(b))
	}
	line := string(b[:n])
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	return P(line)
}

// tcpFlags writes TCP flags as Wireshark abbreviates them.
func tcpFlags(f uint8) string {
	var s []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{{decode.TCPSyn, "SYN"}, {decode.TCPFin, "FIN"}, {decode.TCPRst, "RST"}, {decode.TCPPsh, "PSH"}, {decode.TCPAck, "ACK"}} {
		if f&x.bit != 0 {
			s = append(s, x.name)
		}
	}
	return strings.Join(s, ",")
}

// writePcap writes frames of one capture file to dir/name through a
// temporary name, so a failed write never leaves half a file behind.
func writePcap(dir, name, src string, frames []uint64) (string, error) {
	path := filepath.Join(dir, name)
	af, err := decode.CreateAtomic(path)
	if err != nil {
		return "", err
	}
	defer af.Abort()
	if err := decode.ExtractFrames(af, src, frames); err != nil {
		return "", err
	}
	if err := af.Commit(); err != nil {
		return "", err
	}
	return path, nil
}

// fileName makes a safe file name part out of an id or point name.
func fileName(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('-')
		}
		for _, r := range p {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
				b.WriteRune(r)
			default:
				b.WriteByte('_')
			}
		}
	}
	return strings.TrimSuffix(strings.TrimSuffix(b.String(), ".pcapng"), ".pcap") + ".pcapng"
}

// flowFilter is the Wireshark display filter that shows one flow.
func flowFilter(f *report.Flow) string {
	c, err1 := netip.ParseAddrPort(f.Client)
	s, err2 := netip.ParseAddrPort(f.Server)
	if err1 != nil || err2 != nil {
		return ""
	}
	ip := "ip"
	if c.Addr().Is6() && !c.Addr().Is4In6() {
		ip = "ipv6"
	}
	t := f.Transport
	return fmt.Sprintf("%s.addr==%s && %s.addr==%s && %s.port==%d && %s.port==%d",
		ip, c.Addr().Unmap(), ip, s.Addr().Unmap(), t, c.Port(), t, s.Port())
}
