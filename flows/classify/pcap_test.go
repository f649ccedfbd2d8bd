package classify

import (
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// capturesDir is ../shared/captures/public relative to the repository root.
func capturesDir(t testing.TB) string {
	t.Helper()
	for _, d := range []string{"../../../shared/captures/public", "/work/shared/captures/public"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	t.Skip("shared captures not present (../shared/captures/public); conformance test skipped")
	return ""
}

// pkt is one decoded transport packet from a test capture.
type pkt struct {
	frame         int
	src, dst      netip.AddrPort
	proto         uint8
	syn, ack, fin bool
	rst           bool
	seq           uint32
	payload       []byte
}

// readCapture decodes every TCP/UDP packet of a pcap or pcapng file.
func readCapture(t testing.TB, path string) []pkt {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readRecords(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []pkt
	for i, rec := range recs {
		n, data, lt := i+1, rec.data, rec.lt
		p := gopacket.NewPacket(data, lt, gopacket.Default)
		var s, d netip.Addr
		if l, ok := p.NetworkLayer().(*layers.IPv4); ok {
			s, _ = netip.AddrFromSlice(l.SrcIP.To4())
			d, _ = netip.AddrFromSlice(l.DstIP.To4())
		} else if l, ok := p.NetworkLayer().(*layers.IPv6); ok {
			s, _ = netip.AddrFromSlice(l.SrcIP)
			d, _ = netip.AddrFromSlice(l.DstIP)
		} else {
			continue
		}
		switch l := p.TransportLayer().(type) {
		case *layers.TCP:
			out = append(out, pkt{frame: n, src: netip.AddrPortFrom(s, uint16(l.SrcPort)), dst: netip.AddrPortFrom(d, uint16(l.DstPort)),
				proto: 6, syn: l.SYN, ack: l.ACK, fin: l.FIN, rst: l.RST, seq: l.Seq, payload: l.Payload})
		case *layers.UDP:
			out = append(out, pkt{frame: n, src: netip.AddrPortFrom(s, uint16(l.SrcPort)), dst: netip.AddrPortFrom(d, uint16(l.DstPort)),
				proto: 17, payload: l.Payload})
		}
	}
	return out
}

// testFlow is a minimal flow table entry: enough to drive Classify the way
// the real flow table does (incrementally, then with the directions closed).
type testFlow struct {
	client, server netip.AddrPort
	in             Input
	next           [2]uint32 // next expected TCP seq per direction (0 c2s, 1 s2c)
	seqOK          [2]bool
	res            Result
	calls          int
	decidedAt      int
}

func (f *testFlow) key() string { return f.client.String() + "-" + f.server.String() }

// classifyTime accumulates the time spent inside Classify by buildFlows.
var classifyTime time.Duration

// buildFlows groups packets into flows and calls Classify after each payload.
func buildFlows(pkts []pkt) []*testFlow {
	flows := map[[2]netip.AddrPort]*testFlow{}
	var order []*testFlow
	for _, p := range pkts {
		f := flows[[2]netip.AddrPort{p.src, p.dst}]
		c2s := true
		if f == nil {
			f = flows[[2]netip.AddrPort{p.dst, p.src}]
			c2s = false
		}
		if f == nil {
			cl, sv := p.src, p.dst
			if p.proto == 6 && p.syn && p.ack { // SYN-ACK first: the other side opened
				cl, sv = p.dst, p.src
			}
			f = &testFlow{client: cl, server: sv}
			f.in.Transport = p.proto
			f.in.ClientPort, f.in.ServerPort = cl.Port(), sv.Port()
			flows[[2]netip.AddrPort{cl, sv}] = f
			order = append(order, f)
			c2s = p.src == cl
		}
		dir := 1
		if c2s {
			dir = 0
		}
		if p.proto == 6 {
			if p.syn {
				f.next[dir], f.seqOK[dir] = p.seq+1, true
			}
			if len(p.payload) > 0 {
				if !f.seqOK[dir] {
					f.next[dir], f.seqOK[dir] = p.seq, true
				}
				if p.seq == f.next[dir] {
					buf := &f.in.C2S
					if !c2s {
						buf = &f.in.S2C
					}
					room := MaxStreamBytes - len(*buf)
					pl := p.payload
					if len(pl) > room {
						pl = pl[:room]
					}
					*buf = append(*buf, pl...)
					f.next[dir] += uint32(len(p.payload))
				}
			}
			if p.fin || p.rst {
				if p.rst {
					f.in.C2SClosed, f.in.S2CClosed = true, true
				} else if c2s {
					f.in.C2SClosed = true
				} else {
					f.in.S2CClosed = true
				}
			}
		} else if len(f.in.Datagrams) < MaxDatagrams {
			f.in.Datagrams = append(f.in.Datagrams, Datagram{ToServer: c2s, Data: p.payload})
		}
		if !f.res.Decided {
			t0 := time.Now()
			Classify(&f.in, &f.res)
			classifyTime += time.Since(t0)
			f.calls++
			if f.res.Decided {
				f.decidedAt = f.calls
			}
		}
	}
	for _, f := range order {
		if !f.res.Decided {
			f.in.C2SClosed, f.in.S2CClosed = true, true
			Classify(&f.in, &f.res)
		}
	}
	return order
}

// refFamilies reads a reference TSV's (endpoint pair → family) answers.
func refFamilies(t testing.TB, path string, ndpi bool) map[string]string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if i == 0 {
			continue
		}
		c := strings.Split(line, "\t")
		var a, b, fam string
		if ndpi {
			if len(c) < 7 {
				continue
			}
			// A port guess is not evidence (the SYN scan): no answer.
			if c[5] == "Match by port" {
				continue
			}
			a, b, fam = c[1], c[3], c[6]
		} else {
			if len(c) < 8 {
				continue
			}
			a, b, fam = c[2], c[3], c[7]
		}
		m[pairKey(a, b)] = fam
	}
	return m
}

// pairKey is an order-independent key over two endpoints, normalising IPv6.
func pairKey(a, b string) string {
	na, ea := netip.ParseAddrPort(a)
	nb, eb := netip.ParseAddrPort(b)
	if ea == nil && eb == nil {
		a, b = na.String(), nb.String()
	}
	s := []string{a, b}
	sort.Strings(s)
	return s[0] + " " + s[1]
}

// familyApp maps a reference tool's family to the App it implies.
func familyApp(f string) (App, bool) {
	switch f {
	case "STUN/TURN":
		return STUN, true
	case "TLS":
		return TLS, true
	case "HTTP":
		return HTTP, true
	case "SIP":
		return SIP, true
	case "RTP/RTCP":
		return RTP, true
	case "DNS":
		return DNS, true
	case "XMPP":
		return XMPP, true
	case "other":
		return Unknown, true
	}
	return Unknown, false
}

func captureFiles(t *testing.T) []string {
	dir := capturesDir(t)
	var fs []string
	for _, ext := range []string{"*.pcap", "*.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, ext))
		fs = append(fs, m...)
	}
	sort.Strings(fs)
	return fs
}
