package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// convKey names a conversation regardless of direction and of how either
// tool splits it in time, so the two tools' tables can be compared.
type convKey struct {
	proto string
	a, b  string // endpoints, a < b
}

type convCount struct {
	pkts  [2]uint64 // from a, from b
	bytes [2]uint64
}

func key(proto, src, dst string) (convKey, int) {
	if src < dst {
		return convKey{proto, src, dst}, 0
	}
	return convKey{proto, dst, src}, 1
}

// tsharkConversations sums frame.len per TCP/UDP conversation and direction
// as Wireshark's Conversations table counts them: frames whose transport
// header is the packet's own (ICMP errors quoting a datagram do not count).
func tsharkConversations(t *testing.T, path string) map[convKey]*convCount {
	t.Helper()
	cmd := exec.Command("tshark", "-n", "-r", path, "-Y", "(tcp || udp) && !icmp && !icmpv6",
		"-T", "fields", "-E", "separator=\t", "-E", "occurrence=f",
		"-e", "frame.len", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
		"-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport", "-e", "udp.dstport")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("tshark %s: %v: %s", path, err, stderr.String())
	}
	m := map[convKey]*convCount{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 9 {
			continue
		}
		n, _ := strconv.ParseUint(f[0], 10, 64)
		src, dst := first(f[1], f[2]), first(f[3], f[4])
		proto, sp, dp := "tcp", f[5], f[6]
		if sp == "" {
			proto, sp, dp = "udp", f[7], f[8]
		}
		if src == "" || sp == "" {
			continue
		}
		k, d := key(proto, ep(src, sp), ep(dst, dp))
		c := m[k]
		if c == nil {
			c = &convCount{}
			m[k] = c
		}
		c.pkts[d]++
		c.bytes[d] += n
	}
	return m
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func ep(addr, port string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr + ":" + port
	}
	p, _ := strconv.Atoi(port)
	return netip.AddrPortFrom(a, uint16(p)).String()
}

func ourConversations(rep *report.Report) map[convKey]*convCount {
	m := map[convKey]*convCount{}
	for _, f := range rep.Flows {
		k, d := key(f.Transport, f.Client, f.Server)
		c := m[k]
		if c == nil {
			c = &convCount{}
			m[k] = c
		}
		c.pkts[d] += f.Packets.C2S
		c.bytes[d] += f.Bytes.C2S
		c.pkts[1-d] += f.Packets.S2C
		c.bytes[1-d] += f.Bytes.S2C
	}
	return m
}

// captures lists the project's samples and, when present, the shared public
// captures.
func captures(t *testing.T) []string {
	var out []string
	// Plain containers only: tshark cannot read every compression, and the
	// compressed forms are checked against the plain one elsewhere.
	for _, pat := range []string{"../../samples/*.pcap", "../../samples/*.pcapng", "../../samples/*/*.pcap", "../../samples/*/*.pcapng"} {
		m, _ := filepath.Glob(pat)
		out = append(out, m...)
	}
	shared, _ := filepath.Glob("../../../shared/captures/public/*.pcap*")
	if len(shared) == 0 {
		t.Log("../shared/captures/public not present: checking the project's samples only")
	}
	return append(out, shared...)
}

// TestFlowAccountingMatchesTshark checks that, for every TCP/UDP
// conversation, packets and bytes per direction equal what tshark counts.
func TestFlowAccountingMatchesTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (make deps installs it): flow accounting oracle unavailable")
	}
	for _, path := range captures(t) {
		path := path
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			want := tsharkConversations(t, path)
			inputs, problems := audit.OpenFiles([]string{path})
			if len(problems) > 0 {
				t.Fatalf("open: %s", problems[0].Message)
			}
			rep, err := audit.Run(context.Background(), inputs, nil, audit.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := ourConversations(rep)
			var diffs []string
			for k, w := range want {
				g := got[k]
				if g == nil {
					diffs = append(diffs, fmt.Sprintf("missing %v: tshark %v", k, *w))
					continue
				}
				if *g != *w {
					diffs = append(diffs, fmt.Sprintf("%v: edgeaudit %v, tshark %v", k, *g, *w))
				}
			}
			for k, g := range got {
				if want[k] == nil {
					diffs = append(diffs, fmt.Sprintf("extra %v: %v", k, *g))
				}
			}
			sort.Strings(diffs)
			for i, d := range diffs {
				if i == 10 {
					t.Errorf("... %d more", len(diffs)-10)
					break
				}
				t.Error(d)
			}
		})
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
