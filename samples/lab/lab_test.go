// Package lab drives the real-peer lab (lab.sh) and checks edgeaudit's verdicts on its
// captures. It needs root, network namespaces and the Debian packages of install.sh; without
// them it skips with the reason.
//
// EDGEAUDIT_BIN=PATH picks the edgeaudit binary (default bin/edgeaudit, else a fresh build).
// EDGEAUDIT_LAB_OUT=DIR keeps each scenario's captures in DIR/<scenario> instead of a
// temporary directory. EDGEAUDIT_LAB_SCENARIOS=a,b runs only those scenarios.
package lab

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capture points written by lab.sh (`lab.sh points`)
var points = []string{"client1", "client2", "hlb-outside", "hlb-inside", "hlb-internal", "edge1", "edge2", "frontend"}

// the programs lab.sh runs
var needBins = []string{"ip", "nft", "tcpdump", "turnserver", "turnutils_uclient", "turnutils_stunclient",
	"stun", "openssl", "kamailio", "prosody", "sshd", "ssh", "busybox", "timeout", "flock", "ss"}

// want is one expected finding: a kind, a requirement id and, optionally, a server endpoint
// port that one of its flows (or its evidence) must name.
type want struct {
	kind, req string
	port      int
}

type scenario struct {
	name string
	// expected findings, from all points together and from each of these single points
	expect       []want
	expectPoints []string
	// kinds that must not be reported, from all points and from every single point
	forbid []string
	// kinds that must not be reported from all points and from these single points only
	forbidAt     map[string][]string
	capturePlain func(t *testing.T, caps map[string]*capture)
}

var scenarios = []scenario{
	{
		name:         "compliant",
		forbid:       []string{"snat-av", "asymmetric-return", "one-way-sip", "unexpected-port"},
		capturePlain: checkCompliantCaptures,
	},
	{
		name:         "snat-av",
		expect:       []want{{kind: "snat-av", req: "HLB-02"}},
		expectPoints: []string{"client1", "edge1", "hlb-inside"},
		forbid:       []string{"asymmetric-return", "one-way-sip", "unexpected-port"},
		capturePlain: checkSNATCaptures,
	},
	{
		name:         "asymmetric",
		expect:       []want{{kind: "asymmetric-return", req: "HLB-03"}},
		expectPoints: []string{"client1"},
		forbid:       []string{"snat-av", "unexpected-port"},
		// a point that sees the SYNs but never the answers may rightly call the SIP one-way;
		// where the answer from the real address is visible it is an asymmetric return.
		forbidAt:     map[string][]string{"client1": {"one-way-sip"}, "client2": {"one-way-sip"}},
		capturePlain: checkAsymmetricCaptures,
	},
	{
		name: "unexpected-ports",
		expect: []want{
			{kind: "unexpected-port", req: "GEN-01", port: 22},
			{kind: "unexpected-port", req: "GEN-01", port: 8080},
		},
		expectPoints: []string{"client1", "edge1"},
		forbid:       []string{"snat-av", "asymmetric-return", "one-way-sip"},
		capturePlain: checkUnexpectedCaptures,
	},
}

func TestLab(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("lab: needs Linux network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("lab: needs root (network namespaces, nftables, tcpdump); run `make lab-test` as root")
	}
	for _, b := range needBins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("lab: %s not installed; run samples/lab/install.sh", b)
		}
	}
	if err := probeNetns(); err != nil {
		t.Skipf("lab: ip netns unusable: %v", err)
	}
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	labSh := filepath.Join(here, "lab.sh")
	topo := filepath.Join(here, "topology.yaml")
	if _, err := os.Stat(topo); err != nil {
		t.Fatal(err)
	}
	audit, auditWhy := edgeauditBinary(t, here)
	auditBuildFailed := audit == "" && strings.HasPrefix(auditWhy, "go build")

	only := map[string]bool{}
	for _, s := range strings.Split(os.Getenv("EDGEAUDIT_LAB_SCENARIOS"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			only[s] = true
		}
	}
	for _, sc := range scenarios {
		if len(only) > 0 && !only[sc.name] {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			out := t.TempDir()
			if keep := os.Getenv("EDGEAUDIT_LAB_OUT"); keep != "" {
				out = filepath.Join(keep, sc.name)
				if err := os.MkdirAll(out, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			runLab(t, labSh, sc.name, out)
			t.Logf("lab %s: %s", sc.name, time.Since(start).Round(100*time.Millisecond))
			assertNothingLeft(t, out)

			caps := map[string]*capture{}
			for _, p := range points {
				c, err := readCapture(filepath.Join(out, p+".pcap"))
				if err != nil {
					t.Fatalf("capture %s: %v", p, err)
				}
				caps[p] = c
			}
			t.Run("captures", func(t *testing.T) {
				checkCommonCaptures(t, caps)
				sc.capturePlain(t, caps)
			})
			t.Run("edgeaudit", func(t *testing.T) {
				if auditBuildFailed {
					t.Fatal(auditWhy)
				}
				if audit == "" {
					t.Skip(auditWhy)
				}
				checkEdgeaudit(t, audit, out, sc)
			})
		})
	}
}

// probeNetns creates and deletes a namespace: `ip netns list` alone succeeds where creating
// one is not allowed.
func probeNetns() error {
	const name = "ealab-probe"
	_ = exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// edgeauditBinary: $EDGEAUDIT_BIN, else bin/edgeaudit (`make lab-test` builds it first), else
// cmd/edgeaudit built into a temporary directory. Without any of them the edgeaudit subtests
// skip; when the build fails they fail with the compiler's output.
func edgeauditBinary(t *testing.T, here string) (path, why string) {
	if b := os.Getenv("EDGEAUDIT_BIN"); b != "" {
		return b, ""
	}
	root := here
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", "edgeaudit: module root not found"
		}
		root = parent
	}
	if b := filepath.Join(root, "bin", "edgeaudit"); fileExists(b) {
		return b, ""
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "edgeaudit")); err != nil {
		return "", "edgeaudit: cmd/edgeaudit does not exist yet; only the captures are checked"
	}
	bin := filepath.Join(t.TempDir(), "edgeaudit")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/edgeaudit")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		// the lab and its capture checks still run; the edgeaudit subtests fail with this
		return "", fmt.Sprintf("go build ./cmd/edgeaudit: %v\n%s", err, out)
	}
	return bin, ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func runLab(t *testing.T, labSh, sc, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", labSh, "run", sc, out)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	// on a timeout: SIGTERM lets lab.sh tear down (SIGINT may be ignored in a background
	// job), SIGKILL only after WaitDelay
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	err := cmd.Run()
	if err != nil {
		_ = exec.Command("bash", labSh, "down").Run()
		t.Fatalf("lab.sh run %s: %v\n%s", sc, err, buf.String())
	}
	if testing.Verbose() {
		t.Logf("lab.sh output:\n%s", buf.String())
	}
}

// assertNothingLeft: no lab namespace, interface, state or process survives a run.
func assertNothingLeft(t *testing.T, out string) {
	t.Helper()
	nsOut, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Errorf("ip netns list: %v", err)
	}
	for _, l := range strings.Split(string(nsOut), "\n") {
		if strings.HasPrefix(l, "ealab-") {
			t.Errorf("namespace left behind: %s", l)
		}
	}
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, l := range strings.Split(string(links), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name := strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
		switch {
		case strings.HasPrefix(name, "d-"), strings.HasPrefix(name, "i-"),
			name == "brc", name == "dmzbr", name == "intbr", name == "up0", name == "dmz0",
			name == "int0", name == "ext0", name == "fe0", name == "c1", name == "c2":
			t.Errorf("interface left behind in the host namespace: %s", name)
		}
	}
	for _, p := range []string{"/run/ealab", "/etc/netns/ealab-hlb"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("lab state left behind: %s", p)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue // gone, or a zombie / kernel thread
		}
		cl := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		if strings.Contains(cl, "/run/ealab") || strings.Contains(cl, out+"/") ||
			strings.Contains(cl, "ip netns exec ealab-") {
			t.Errorf("lab process left behind: pid %s: %s", filepath.Base(filepath.Dir(p)), cl)
		}
	}
}

// ---------------------------------------------------------------------------------------
// captures, read with pcapgo
// ---------------------------------------------------------------------------------------

type pkt struct {
	proto            string // tcp, udp, icmp, arp, other
	src, dst         netip.Addr
	sport, dport     int
	syn, ack, rst    bool
	payload          []byte
	srcMAC, dstMAC   string
	hasIP            bool
	xorMapped        netip.Addr // STUN success response's XOR-MAPPED-ADDRESS, if any
	stunResponseType uint16
}

type capture struct {
	path string
	pkts []pkt
}

func readCapture(path string) (*capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, err
	}
	c := &capture{path: path}
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
		c.pkts = append(c.pkts, decodePkt(gopacket.NewPacket(data, r.LinkType(), gopacket.Default)))
	}
	return c, nil
}

func decodePkt(p gopacket.Packet) pkt {
	var k pkt
	k.proto = "other"
	if e, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
		k.srcMAC, k.dstMAC = e.SrcMAC.String(), e.DstMAC.String()
	}
	if p.Layer(layers.LayerTypeARP) != nil {
		k.proto = "arp"
		return k
	}
	ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		return k
	}
	k.hasIP = true
	k.src, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
	k.dst, _ = netip.AddrFromSlice(ip4.DstIP.To4())
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		k.proto = "tcp"
		k.sport, k.dport = int(l.SrcPort), int(l.DstPort)
		k.syn, k.ack, k.rst = l.SYN, l.ACK, l.RST
		k.payload = l.Payload
	case *layers.UDP:
		k.proto = "udp"
		k.sport, k.dport = int(l.SrcPort), int(l.DstPort)
		k.payload = l.Payload
		k.stunResponseType, k.xorMapped = stunXorMapped(l.Payload)
	default:
		if p.Layer(layers.LayerTypeICMPv4) != nil {
			k.proto = "icmp"
		}
	}
	return k
}

// stunXorMapped decodes an RFC 5389 success response's XOR-MAPPED-ADDRESS (0x0020) — just
// enough to prove what the A/V Edge saw as the client's address.
func stunXorMapped(b []byte) (uint16, netip.Addr) {
	if len(b) < 20 || b[0]&0xC0 != 0 || binary.BigEndian.Uint32(b[4:8]) != 0x2112A442 {
		return 0, netip.Addr{}
	}
	typ := binary.BigEndian.Uint16(b[0:2])
	if typ&0x0110 != 0x0100 { // success responses only
		return 0, netip.Addr{}
	}
	end := 20 + int(binary.BigEndian.Uint16(b[2:4]))
	if end > len(b) {
		end = len(b)
	}
	for i := 20; i+4 <= end; {
		at, ln := binary.BigEndian.Uint16(b[i:i+2]), int(binary.BigEndian.Uint16(b[i+2:i+4]))
		v := b[i+4 : min(i+4+ln, end)]
		if at == 0x0020 && len(v) >= 8 && v[1] == 1 {
			var a [4]byte
			for j := range a {
				a[j] = v[4+j] ^ b[4+j]
			}
			return typ, netip.AddrFrom4(a)
		}
		i += 4 + (ln+3)&^3
	}
	return typ, netip.Addr{}
}

var allowedNets = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("172.16.0.0/16"),
}

func a(s string) netip.Addr { return netip.MustParseAddr(s) }

// has reports whether some packet matches; count how many.
func (c *capture) count(f func(p pkt) bool) int {
	n := 0
	for _, p := range c.pkts {
		if f(p) {
			n++
		}
	}
	return n
}

func from(src string, sport int, dst string, dport int, proto string) func(pkt) bool {
	return func(p pkt) bool {
		return p.hasIP && p.proto == proto && (src == "" || p.src == a(src)) && (sport == 0 || p.sport == sport) &&
			(dst == "" || p.dst == a(dst)) && (dport == 0 || p.dport == dport)
	}
}

func synTo(dst string, dport int) func(pkt) bool {
	f := from("", 0, dst, dport, "tcp")
	return func(p pkt) bool { return f(p) && p.syn && !p.ack }
}

func synAckFrom(src string, sport int) func(pkt) bool {
	f := from(src, sport, "", 0, "tcp")
	return func(p pkt) bool { return f(p) && p.syn && p.ack }
}

func payloadHas(f func(pkt) bool, s string) func(pkt) bool {
	return func(p pkt) bool { return f(p) && bytes.Contains(p.payload, []byte(s)) }
}

func must(t *testing.T, c *capture, what string, f func(pkt) bool) {
	t.Helper()
	if c.count(f) == 0 {
		t.Errorf("%s: no packet: %s", filepath.Base(c.path), what)
	}
}

func mustNot(t *testing.T, c *capture, what string, f func(pkt) bool) {
	t.Helper()
	for i, p := range c.pkts {
		if f(p) {
			t.Errorf("%s: %d unexpected packets: %s; the first is #%d: %s %s:%d > %s:%d",
				filepath.Base(c.path), c.count(f), what, i+1, p.proto, p.src, p.sport, p.dst, p.dport)
			return
		}
	}
}

func checkCommonCaptures(t *testing.T, caps map[string]*capture) {
	for _, name := range points {
		c := caps[name]
		if len(c.pkts) < 10 {
			t.Errorf("%s: only %d packets", name, len(c.pkts))
		}
		// containment: nothing but the lab's documentation/private ranges, and no IPv6 noise
		mustNot(t, c, "address outside the lab ranges", func(p pkt) bool {
			if !p.hasIP {
				return false
			}
			ok := func(x netip.Addr) bool {
				for _, n := range allowedNets {
					if n.Contains(x) {
						return true
					}
				}
				return false
			}
			if netip.MustParsePrefix("224.0.0.0/24").Contains(p.dst) {
				return false // link-local multicast (an IGMP report) is never routed
			}
			return !ok(p.src) || !ok(p.dst)
		})
	}
	// the internal side: the Front End reaches each Edge's internal services directly
	fe := caps["frontend"]
	for _, e := range []string{"172.16.0.11", "172.16.0.21"} {
		for _, port := range []int{8057, 4443, 50001} {
			must(t, fe, fmt.Sprintf("SYN-ACK %s:%d", e, port), synAckFrom(e, port))
		}
		must(t, fe, "STUN answer from "+e+":3478", from(e, 3478, "172.16.1.10", 0, "udp"))
	}
	// SIP through the internal VIP, SNATed to the HLB's internal self IP (Access: HLB-01)
	must(t, fe, "SIP 200 OK from the internal VIP", synAckFrom("172.16.0.100", 5061))
	must(t, caps["hlb-internal"], "HLB internal self IP to an Edge's 5061",
		func(p pkt) bool {
			return synTo("", 5061)(p) && p.src == a("172.16.0.250")
		})
}

// client1 -> edge1, client2 -> edge2 (jhash source affinity)
func checkAffinity(t *testing.T, caps map[string]*capture, avSrc1, avSrc2 string) {
	t.Helper()
	must(t, caps["edge1"], "A/V STUN from "+avSrc1+" at edge1", from(avSrc1, 0, "198.51.100.13", 3478, "udp"))
	must(t, caps["edge2"], "A/V STUN from "+avSrc2+" at edge2", from(avSrc2, 0, "198.51.100.23", 3478, "udp"))
	must(t, caps["edge1"], "TURN over TCP 443 at edge1", synTo("198.51.100.13", 443))
	must(t, caps["edge2"], "TURN over TCP 443 at edge2", synTo("198.51.100.23", 443))
}

func checkServedClients(t *testing.T, caps map[string]*capture) {
	t.Helper()
	for _, cl := range []string{"client1", "client2"} {
		c := caps[cl]
		must(t, c, "STUN answer from the A/V VIP", from("198.51.100.102", 3478, "", 0, "udp"))
		must(t, c, "TURN/TCP 443 SYN-ACK from the A/V VIP", synAckFrom("198.51.100.102", 443))
		for _, port := range []int{443, 5061, 5269} {
			must(t, c, fmt.Sprintf("SYN-ACK from the Access VIP:%d", port), synAckFrom("198.51.100.100", port))
		}
		must(t, c, "SYN-ACK from the Web Conferencing VIP:443", synAckFrom("198.51.100.101", 443))
		// XMPP STARTTLS in clear before TLS (prosody's answer)
		must(t, c, "XMPP <proceed/> from the Access VIP",
			payloadHas(from("198.51.100.100", 5269, "", 0, "tcp"), "urn:ietf:params:xml:ns:xmpp-tls"))
	}
	// inside the HLB, Access and Web Conferencing arrive SNATed (HLB-01 allows it)
	in := caps["hlb-inside"]
	must(t, in, "HLB self IP to edge1 Access 443", func(p pkt) bool { return synTo("198.51.100.11", 443)(p) && p.src == a("198.51.100.250") })
	must(t, in, "HLB self IP to edge2 Web Conferencing 443", func(p pkt) bool { return synTo("198.51.100.22", 443)(p) && p.src == a("198.51.100.250") })
	// outside the HLB, TCP answers come from the VIPs only (the classic STUN client's
	// CHANGED-ADDRESS test goes to 198.51.100.13 and is rightly answered from it)
	mustNot(t, caps["hlb-outside"], "a TCP answer from a real Edge address outside the HLB", func(p pkt) bool {
		if !p.hasIP || p.proto != "tcp" || (p.sport != 443 && p.sport != 5061 && p.sport != 5269) {
			return false
		}
		return netip.MustParsePrefix("198.51.100.0/24").Contains(p.src) && p.src.As4()[3] < 100
	})
}

func checkCompliantCaptures(t *testing.T, caps map[string]*capture) {
	checkAffinity(t, caps, "203.0.113.10", "203.0.113.20")
	checkServedClients(t, caps)
	// A/V is not SNATed: the Edge sees the client, the client learns its own address
	mustNot(t, caps["hlb-inside"], "A/V from the HLB self IP", from("198.51.100.250", 0, "198.51.100.13", 3478, "udp"))
	must(t, caps["client1"], "XOR-MAPPED-ADDRESS = the client's own address",
		func(p pkt) bool { return p.xorMapped == a("203.0.113.10") })
	// the Edges' outbound packets go to the HLB's MAC (HLB-10)
	mustNot(t, caps["edge1"], "edge1 answer to a client not via the HLB MAC", func(p pkt) bool {
		return p.hasIP && p.src == a("198.51.100.13") && p.dst == a("203.0.113.10") && p.dstMAC != "02:ea:00:00:01:02"
	})
}

func checkSNATCaptures(t *testing.T, caps map[string]*capture) {
	checkAffinity(t, caps, "198.51.100.250", "198.51.100.250")
	checkServedClients(t, caps)
	in := caps["hlb-inside"]
	must(t, in, "A/V STUN from the HLB self IP to 198.51.100.13:3478", from("198.51.100.250", 0, "198.51.100.13", 3478, "udp"))
	must(t, in, "TURN over TCP from the HLB self IP to 198.51.100.13:443", func(p pkt) bool {
		return synTo("198.51.100.13", 443)(p) && p.src == a("198.51.100.250")
	})
	// (the classic STUN client's CHANGED-ADDRESS test goes straight to 198.51.100.13, not
	// through a VIP, so a few client-sourced UDP packets there are expected)
	mustNot(t, in, "TURN over TCP from a client address inside the HLB", func(p pkt) bool {
		return synTo("198.51.100.13", 443)(p) && p.src == a("203.0.113.10")
	})
	must(t, caps["client1"], "XOR-MAPPED-ADDRESS naming the HLB (198.51.100.250) at the client",
		func(p pkt) bool { return p.xorMapped == a("198.51.100.250") })
	mustNot(t, caps["client1"], "XOR-MAPPED-ADDRESS naming the client itself",
		func(p pkt) bool { return p.xorMapped == a("203.0.113.10") })
}

func checkAsymmetricCaptures(t *testing.T, caps map[string]*capture) {
	checkAffinity(t, caps, "203.0.113.10", "203.0.113.20")
	c1 := caps["client1"]
	must(t, c1, "SYN to the Access VIP 443", synTo("198.51.100.100", 443))
	must(t, c1, "SYN-ACK from the real Access address 198.51.100.11:443", synAckFrom("198.51.100.11", 443))
	mustNot(t, c1, "SYN-ACK from the Access VIP", synAckFrom("198.51.100.100", 443))
	must(t, c1, "the client's RST to the real address", func(p pkt) bool {
		return from("203.0.113.10", 0, "198.51.100.11", 443, "tcp")(p) && p.rst
	})
	must(t, c1, "STUN request to the A/V VIP", from("203.0.113.10", 0, "198.51.100.102", 3478, "udp"))
	must(t, c1, "STUN answer from the real A/V address 198.51.100.13", from("198.51.100.13", 3478, "203.0.113.10", 0, "udp"))
	must(t, caps["client2"], "SYN-ACK from the real Access address 198.51.100.21:443", synAckFrom("198.51.100.21", 443))
	// the answers never cross the HLB
	mustNot(t, caps["hlb-outside"], "an answer from the pool outside the HLB", func(p pkt) bool {
		return p.hasIP && p.dst.Is4() && netip.MustParsePrefix("203.0.113.0/24").Contains(p.dst) && p.proto != "icmp"
	})
	// and the Edge sends them to the Internet router's MAC, not the HLB's
	must(t, caps["edge1"], "edge1 answer toward the router MAC", func(p pkt) bool {
		return p.hasIP && p.src == a("198.51.100.11") && p.dstMAC == "02:ea:00:00:00:31"
	})
}

func checkUnexpectedCaptures(t *testing.T, caps map[string]*capture) {
	checkAffinity(t, caps, "203.0.113.10", "203.0.113.20")
	checkServedClients(t, caps)
	c1 := caps["client1"]
	must(t, c1, "sshd banner from 198.51.100.11:22", payloadHas(from("198.51.100.11", 22, "", 0, "tcp"), "SSH-2.0-"))
	must(t, c1, "HTTP answer from 198.51.100.12:8080", payloadHas(from("198.51.100.12", 8080, "", 0, "tcp"), "HTTP/1."))
	must(t, c1, "STUN answer from 198.51.100.13:3479", func(p pkt) bool {
		return from("198.51.100.13", 3479, "203.0.113.10", 0, "udp")(p) && p.stunResponseType == 0x0101
	})
}

// ---------------------------------------------------------------------------------------
// edgeaudit
// ---------------------------------------------------------------------------------------

type report struct {
	Schema string `json:"schema"`
	Inputs []struct {
		Path    string `json:"path"`
		Point   string `json:"point"`
		Packets int    `json:"packets"`
	} `json:"inputs"`
	Flows []struct {
		ID     string `json:"id"`
		Point  string `json:"point"`
		Client string `json:"client"`
		Server string `json:"server"`
	} `json:"flows"`
	Findings []finding `json:"findings"`
}

type finding struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Severity    string   `json:"severity"`
	Requirement string   `json:"requirement"`
	Message     string   `json:"message"`
	Flows       []string `json:"flows"`
	Evidence    []struct {
		Point  string `json:"point"`
		Detail string `json:"detail"`
	} `json:"evidence"`
	Filter string `json:"wireshark_filter"`
}

func runAudit(t *testing.T, bin, dir string, pts []string) *report {
	t.Helper()
	args := []string{"audit", "--topology", filepath.Join(dir, "topology.yaml"), "--format", "json"}
	for _, p := range pts {
		args = append(args, filepath.Join(dir, p+".pcap"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("edgeaudit %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("edgeaudit %v: JSON report: %v\n%.2000s", pts, err, stdout.String())
	}
	if r.Schema != "edgeaudit.report/v1" {
		t.Errorf("schema %q", r.Schema)
	}
	if len(r.Inputs) != len(pts) {
		t.Errorf("%d inputs in the report for %d captures", len(r.Inputs), len(pts))
	}
	return &r
}

// matches: the finding has the kind and requirement, and (if port > 0) one of its flows has
// that server port — or, when the flows are not listed, its evidence/message names it.
func (r *report) matches(f finding, w want) bool {
	if f.Kind != w.kind || f.Requirement != w.req {
		return false
	}
	if w.port == 0 {
		return true
	}
	servers := map[string]string{}
	for _, fl := range r.Flows {
		servers[fl.ID] = fl.Server
	}
	for _, id := range f.Flows {
		if _, p, err := net.SplitHostPort(servers[id]); err == nil && p == fmt.Sprint(w.port) {
			return true
		}
	}
	text := f.Message + " " + f.Filter
	for _, e := range f.Evidence {
		text += " " + e.Detail
	}
	return strings.Contains(text, fmt.Sprintf(":%d ", w.port)) || strings.HasSuffix(text, fmt.Sprintf(":%d", w.port)) ||
		strings.Contains(text, fmt.Sprintf("port == %d", w.port)) || strings.Contains(text, fmt.Sprintf(":%d,", w.port))
}

func summarize(r *report) string {
	var b strings.Builder
	kinds := map[string]int{}
	for _, f := range r.Findings {
		kinds[f.Kind+"/"+f.Requirement]++
	}
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s×%d", k, kinds[k])
	}
	if b.Len() == 0 {
		return " none"
	}
	return b.String()
}

func describe(f finding) string {
	s := fmt.Sprintf("%s/%s %s: %s", f.Kind, f.Requirement, f.Severity, f.Message)
	if len(f.Evidence) > 0 {
		s += " [" + f.Evidence[0].Point + ": " + f.Evidence[0].Detail + "]"
	}
	return s
}

func checkEdgeaudit(t *testing.T, bin, dir string, sc scenario) {
	check := func(t *testing.T, pts []string, expect bool, forbid []string) {
		r := runAudit(t, bin, dir, pts)
		t.Logf("%v: findings%s", pts, summarize(r))
		if expect {
			for _, w := range sc.expect {
				found := false
				for _, f := range r.Findings {
					if r.matches(f, w) {
						found = true
						break
					}
				}
				if !found {
					what := w.kind + "/" + w.req
					if w.port > 0 {
						what += fmt.Sprintf(" on port %d", w.port)
					}
					t.Errorf("%v: expected a %s finding; got%s", pts, what, summarize(r))
				}
			}
		}
		for _, k := range forbid {
			for _, f := range r.Findings {
				if f.Kind == k {
					t.Errorf("%v: unexpected %s", pts, describe(f))
				}
			}
		}
	}
	forbidFor := func(point string) []string {
		f := append([]string(nil), sc.forbid...)
		if point == "" {
			for _, ks := range sc.forbidAt {
				f = append(f, ks...)
			}
			return dedup(f)
		}
		return append(f, sc.forbidAt[point]...)
	}
	t.Run("all-points", func(t *testing.T) {
		check(t, points, true, forbidFor(""))
	})
	for _, p := range points {
		expect := false
		for _, e := range sc.expectPoints {
			expect = expect || e == p
		}
		t.Run("point-"+p, func(t *testing.T) {
			check(t, []string{p}, expect, forbidFor(p))
		})
	}
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
