package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// generate runs every scenario into a fresh temporary directory.
func generate(t *testing.T) (string, []written) {
	t.Helper()
	dir := t.TempDir()
	g := &gen{out: dir}
	if err := g.run(""); err != nil {
		t.Fatal(err)
	}
	return dir, g.written
}

var (
	onceDir     string
	onceWritten []written
	onceMu      sync.Mutex
)

// shared returns one generation reused by the read-only tests.
func shared(t *testing.T) (string, []written) {
	onceMu.Lock()
	defer onceMu.Unlock()
	if onceDir == "" {
		dir, err := os.MkdirTemp("", "edgeaudit-samples-")
		if err != nil {
			t.Fatal(err)
		}
		g := &gen{out: dir}
		if err := g.run(""); err != nil {
			t.Fatal(err)
		}
		onceDir, onceWritten = dir, g.written
	}
	return onceDir, onceWritten
}

func TestMain(m *testing.M) {
	code := m.Run()
	if onceDir != "" {
		os.RemoveAll(onceDir)
	}
	os.Exit(code)
}

// TestDeterministic: the same flags give byte-identical files.
func TestDeterministic(t *testing.T) {
	a, wa := generate(t)
	b, wb := generate(t)
	if len(wa) != len(wb) {
		t.Fatalf("file count differs: %d vs %d", len(wa), len(wb))
	}
	for _, w := range wa {
		x, _ := os.ReadFile(filepath.Join(a, w.name))
		y, err := os.ReadFile(filepath.Join(b, w.name))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", w.name)
		}
	}
}

// TestCommittedUpToDate: the files in samples/ equal a fresh generation.
// Regenerate with `go run ./samples/gen` from the repository root.
func TestCommittedUpToDate(t *testing.T) {
	dir, ws := shared(t)
	for _, w := range ws {
		fresh, _ := os.ReadFile(filepath.Join(dir, w.name))
		old, err := os.ReadFile(filepath.Join("..", w.name))
		if err != nil {
			t.Errorf("%s: not committed (run go run ./samples/gen): %v", w.name, err)
			continue
		}
		if !bytes.Equal(fresh, old) {
			t.Errorf("samples/%s is stale: run go run ./samples/gen", w.name)
		}
	}
}

func captures(ws []written) []string {
	var out []string
	for _, w := range ws {
		if strings.HasSuffix(w.name, ".pcap") || strings.HasSuffix(w.name, ".pcapng") {
			out = append(out, w.name)
		}
	}
	return out
}

type frame struct {
	data []byte
	lt   layers.LinkType
	ci   gopacket.CaptureInfo
}

// readFrames reads a pcap or pcapng file; truncated files return the
// complete frames and the error that stopped the reader.
func readFrames(path string) ([]frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	var out []frame
	if binary.LittleEndian.Uint32(magic) == 0x0A0D0D0A {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		for {
			d, ci, err := r.ReadPacketData()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			intf, _ := r.Interface(ci.InterfaceIndex)
			out = append(out, frame{d, intf.LinkType, ci})
		}
	}
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, err
	}
	for {
		d, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, frame{d, r.LinkType(), ci})
	}
}

func csum(b []byte, s uint32) uint16 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// TestPacketsDecode: every frame decodes with gopacket without an error
// layer, and IPv4, TCP, UDP and ICMP checksums verify.
func TestPacketsDecode(t *testing.T) {
	dir, ws := shared(t)
	for _, name := range captures(ws) {
		frames, err := readFrames(filepath.Join(dir, name))
		if strings.Contains(name, "truncated") {
			if err == nil {
				t.Errorf("%s: expected a read error at the cut", name)
			}
		} else if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for i, fr := range frames {
			p := gopacket.NewPacket(fr.data, fr.lt, gopacket.Default)
			if el := p.ErrorLayer(); el != nil && !junkOnDNS(p) {
				t.Errorf("%s#%d: %v", name, i+1, el.Error())
				continue
			}
			ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if ip4 == nil {
				t.Errorf("%s#%d: no IPv4 layer", name, i+1)
				continue
			}
			hdr := ip4.Contents
			if csum(hdr, 0) != 0xffff {
				t.Errorf("%s#%d: bad IPv4 header checksum", name, i+1)
			}
			l4 := ip4.Payload
			switch ip4.Protocol {
			case layers.IPProtocolTCP, layers.IPProtocolUDP:
				var ph uint32
				for j := 12; j < 20; j += 2 {
					ph += uint32(hdr[j])<<8 | uint32(hdr[j+1])
				}
				ph += uint32(ip4.Protocol) + uint32(len(l4))
				if csum(l4, ph) != 0xffff {
					t.Errorf("%s#%d: bad %v checksum", name, i+1, ip4.Protocol)
				}
			case layers.IPProtocolICMPv4:
				if csum(l4, 0) != 0xffff {
					t.Errorf("%s#%d: bad ICMP checksum", name, i+1)
				}
			}
		}
	}
}

// TestTshark: Wireshark decodes every frame without a malformed marker
// (STUN version Auto, so MS-TURN's unpadded attributes are understood).
// The only exceptions are the deliberate non-DNS datagrams on UDP 53.
func TestTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: Wireshark cross-check skipped")
	}
	ts, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: Wireshark cross-check skipped")
	}
	dir, ws := shared(t)
	// tshark's start-up dominates, so every invocation is its own
	// parallel subtest.
	for _, name := range captures(ws) {
		if strings.Contains(name, "truncated") {
			continue
		}
		t.Run("clean/"+name, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(ts, "-n", "-o", "stun.stunversion:Auto", "-r", filepath.Join(dir, name),
				"-Y", "_ws.malformed && !(udp.port == 53)", "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			if s := strings.TrimSpace(string(out)); s != "" {
				t.Errorf("malformed frames:\n%s", s)
			}
		})
	}
	// The MS-TURN and TLS structures are actually recognised.
	for _, c := range []struct{ file, filter string }{
		{"compliant/outside.pcap", "stun.type == 0x0103 && stun.att.type == 0x000f"},
		{"compliant/outside.pcap", "stun.type == 0x0004"},
		{"compliant/outside.pcap", "stun.type == 0x0115"},
		{"compliant/outside.pcap", "stun.type == 0x0106"},
		{"compliant/outside.pcap", "stun.att.type == 0x0020"},
		{"compliant/outside.pcap", "rtp || rtcp || udp.port >= 50000"},
		{"compliant/outside.pcap", "icmp.type == 3 && icmp.code == 3"},
		{"compliant/edge1.pcap", "tls.handshake.type == 13"},
		{"compliant/edge1.pcap", "tls.handshake.type == 15"},
		{"rules/external.pcap", "tls.handshake.extensions_alpn_str"},
		{"rules/external.pcap", "tls.handshake.ja3 == \"98d82c43de4e22a055da96bcef1ca9b9\""},
		{"rules/external.pcap", "x509sat.uTF8String || x509ce.dNSName"},
		{"rules/external.pcap", "x509af.revokedCertificates"},
		{"edge-mixed.pcap", "tcp.port == 5269 && frame contains \"xmlns:stream\""},
	} {
		t.Run("has/"+c.file+"/"+c.filter, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(ts, "-n", "-o", "stun.stunversion:Auto", "-r", filepath.Join(dir, c.file), "-Y", c.filter).Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			if bytes.Count(out, []byte("\n")) == 0 {
				t.Errorf("no frame matches %q", c.filter)
			}
		})
	}
}

// The 33 port rules of reference/edge-port-policy.md.
var ruleIDs = []string{
	"EXT-N-01", "EXT-N-02", "EXT-N-03", "EXT-N-04", "EXT-N-05", "EXT-N-06", "EXT-N-07", "EXT-N-08", "EXT-N-09", "EXT-N-10", "EXT-N-11",
	"INT-N-01", "INT-N-02", "INT-N-03", "INT-N-04", "INT-N-05", "INT-N-06", "INT-N-07", "INT-N-08",
	"EXT-V-01", "EXT-V-02", "EXT-V-03", "EXT-V-04", "EXT-V-05", "EXT-V-06", "EXT-V-07", "EXT-V-08",
	"INT-V-01", "INT-V-02", "INT-V-03", "INT-V-04", "INT-V-05", "INT-V-06",
}

func readManifest(t *testing.T, path string) []map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	head := strings.Split(lines[0], "\t")
	var out []map[string]string
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != len(head) {
			t.Fatalf("%s: %d columns, want %d: %q", path, len(f), len(head), l)
		}
		m := map[string]string{}
		for i, h := range head {
			m[h] = f[i]
		}
		out = append(out, m)
	}
	return out
}

// TestManifestCoverage: every rule has an allowed flow and a near miss,
// and every expectation is well formed.
func TestManifestCoverage(t *testing.T) {
	dir, _ := shared(t)
	rows := readManifest(t, filepath.Join(dir, "rules/manifest.tsv"))
	allowed, miss := map[string]int{}, map[string]int{}
	for _, r := range rows {
		switch r["case"] {
		case "allowed":
			allowed[r["for_rule"]]++
			if !strings.Contains("|"+r["expect_rule"]+"|", "|"+r["for_rule"]+"|") || r["expect_finding"] != "-" {
				t.Errorf("allowed line for %s expects %s / %s", r["for_rule"], r["expect_rule"], r["expect_finding"])
			}
		case "wrong-direction", "wrong-port", "wrong-role", "wrong-protocol", "option-off":
			miss[r["for_rule"]]++
			if r["expect_rule"] != "-" || r["expect_finding"] == "-" {
				t.Errorf("near miss for %s must expect no rule and a finding: %v", r["for_rule"], r)
			}
		default:
			t.Errorf("unknown case %q", r["case"])
		}
	}
	for _, id := range ruleIDs {
		if allowed[id] == 0 || miss[id] == 0 {
			t.Errorf("%s: %d allowed, %d near misses; want >= 1 each", id, allowed[id], miss[id])
		}
	}
}

// TestManifestFlowsPresent: each manifest line names a flow whose first
// packet, client to server, is in the named capture.
func TestManifestFlowsPresent(t *testing.T) {
	dir, _ := shared(t)
	rows := readManifest(t, filepath.Join(dir, "rules/manifest.tsv"))
	rows = append(rows, readManifest(t, filepath.Join(dir, "unexpected-ports.tsv"))...)
	first := map[string]map[string]bool{}
	for _, r := range rows {
		file := r["file"]
		if first[file] == nil {
			first[file] = map[string]bool{}
			frames, err := readFrames(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			for _, fr := range frames {
				p := gopacket.NewPacket(fr.data, fr.lt, gopacket.NoCopy)
				ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if ip4 == nil {
					continue
				}
				src, _ := netip.AddrFromSlice(ip4.SrcIP)
				dst, _ := netip.AddrFromSlice(ip4.DstIP)
				if tl, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
					if tl.SYN && !tl.ACK {
						first[file]["tcp "+netip.AddrPortFrom(src, uint16(tl.SrcPort)).String()+" "+netip.AddrPortFrom(dst, uint16(tl.DstPort)).String()] = true
					}
				}
				if ul, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
					first[file]["udp "+netip.AddrPortFrom(src, uint16(ul.SrcPort)).String()+" "+netip.AddrPortFrom(dst, uint16(ul.DstPort)).String()] = true
				}
			}
		}
		k := r["transport"] + " " + r["client"] + " " + r["server"]
		if !first[file][k] {
			t.Errorf("%s: flow %s not found", file, k)
		}
	}
}

// stunTx finds STUN/MS-TURN messages of type typ in a capture and returns
// (IP source, IP destination, transaction id, decoded 0x8020 address).
type stunSeen struct {
	src, dst netip.Addr
	tx       string
	xor      netip.Addr
}

func stunMessages(t *testing.T, path string, typ uint16) []stunSeen {
	frames, err := readFrames(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []stunSeen
	for _, fr := range frames {
		p := gopacket.NewPacket(fr.data, fr.lt, gopacket.NoCopy)
		ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		ul, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip4 == nil || ul == nil || len(ul.Payload) < 20 || binary.BigEndian.Uint16(ul.Payload) != typ {
			continue
		}
		b := ul.Payload
		s := stunSeen{tx: string(b[4:20])}
		s.src, _ = netip.AddrFromSlice(ip4.SrcIP)
		s.dst, _ = netip.AddrFromSlice(ip4.DstIP)
		for a := b[20:]; len(a) >= 4; {
			at, al := binary.BigEndian.Uint16(a), int(binary.BigEndian.Uint16(a[2:]))
			if at == aMSXorMapped && al == 8 {
				v := binary.BigEndian.Uint32(a[8:]) ^ binary.BigEndian.Uint32(b[4:])
				s.xor = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			}
			a = a[min(len(a), 4+al):]
		}
		out = append(out, s)
	}
	return out
}

// TestScenarioFacts checks what each HLB scenario must prove, from the
// packets themselves.
func TestScenarioFacts(t *testing.T) {
	dir, _ := shared(t)
	p := func(s string) string { return filepath.Join(dir, s) }

	// compliant: inside, A/V successes name the client; nothing from the HLB reaches an av address.
	for _, s := range stunMessages(t, p("compliant/inside.pcap"), msAllocateOK) {
		if s.xor != s.dst || s.xor == hlbExt {
			t.Errorf("compliant inside: 0x0103 to %v names %v", s.dst, s.xor)
		}
	}
	for _, s := range stunMessages(t, p("compliant/inside.pcap"), msAllocate) {
		if s.src == hlbExt {
			t.Errorf("compliant inside: Allocate from the HLB")
		}
	}
	// snat-av: inside, Allocates come from the HLB and successes name it;
	// outside the same transactions are addressed to the real client.
	in := stunMessages(t, p("snat-av/inside.pcap"), msAllocateOK)
	out := stunMessages(t, p("snat-av/outside.pcap"), msAllocateOK)
	if len(in) == 0 || len(in) != len(out) {
		t.Fatalf("snat-av: %d inside vs %d outside successes", len(in), len(out))
	}
	byTx := map[string]stunSeen{}
	for _, s := range out {
		byTx[s.tx] = s
	}
	for _, s := range in {
		o, ok := byTx[s.tx]
		if s.xor != hlbExt || s.dst != hlbExt || !ok || o.dst == hlbExt || o.xor != hlbExt {
			t.Errorf("snat-av: inside %+v outside %+v", s, o)
		}
	}
	// asymmetric: requests to the VIP, answers from the real address with the same txid.
	req := stunMessages(t, p("asymmetric/client.pcap"), msAllocate)
	rsp := stunMessages(t, p("asymmetric/client.pcap"), msAllocateErr)
	if len(req) == 0 || len(rsp) == 0 || req[0].dst != vipAV || rsp[0].src != nodes[0].av || req[0].tx != rsp[0].tx {
		t.Errorf("asymmetric: request %+v answer %+v", req, rsp)
	}
	// asymmetric TCP: SYN-ACK ack-1 equals the SYN ISN, from the real address;
	// at edge1 it leaves toward the router's MAC.
	for _, f := range []string{"asymmetric/client.pcap", "asymmetric/edge1.pcap"} {
		frames, _ := readFrames(p(f))
		isn := map[uint16]uint32{}
		found := false
		for _, fr := range frames {
			pk := gopacket.NewPacket(fr.data, fr.lt, gopacket.NoCopy)
			tl, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
			ip4, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			eth, _ := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			if tl == nil {
				continue
			}
			if tl.SYN && !tl.ACK {
				isn[uint16(tl.SrcPort)] = tl.Seq
			}
			if tl.SYN && tl.ACK && isn[uint16(tl.DstPort)] == tl.Ack-1 && ip4.SrcIP.Equal(nodes[0].access.AsSlice()) {
				found = true
				if f == "asymmetric/edge1.pcap" && !bytes.Equal(eth.DstMAC, macRouterExt[:]) {
					t.Errorf("edge1 SYN-ACK goes to %v, want the router", eth.DstMAC)
				}
			}
		}
		if !found {
			t.Errorf("%s: no SYN-ACK from the real address matching a SYN's ISN", f)
		}
	}
}

// TestTopologyFiles: the bad topology's defects sit where README.md says.
func TestTopologyFiles(t *testing.T) {
	dir, _ := shared(t)
	b, _ := os.ReadFile(filepath.Join(dir, "topology-bad.yaml"))
	lines := strings.Split(string(b), "\n")
	if len(lines) < 15 || !strings.Contains(lines[14], "198.51.100.300") {
		t.Errorf("topology-bad.yaml line 15 = %q, want the invalid address", lines[14])
	}
	good, _ := os.ReadFile(filepath.Join(dir, "topology.yaml"))
	n := 0
	for _, l := range strings.Split(string(good), "\n") {
		if strings.Contains(l, "198.51.100.") && !strings.Contains(l, "addresses") {
			n++
		}
	}
	if n != 9 {
		t.Errorf("topology.yaml has %d public addresses, want 9", n)
	}
}

// junkOnDNS recognises the deliberate non-DNS datagrams on UDP 53 (the
// EXT-N-03 wrong-protocol case), which no DNS decoder can parse.
func junkOnDNS(p gopacket.Packet) bool {
	u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	return ok && (u.DstPort == 53 || u.SrcPort == 53) && len(u.Payload) > 0 && u.Payload[0] == 0x47
}
