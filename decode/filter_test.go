package decode

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

type tpkt struct {
	name string
	data []byte
}

func fBuild(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func fEth(typ layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: typ}
}

func fv4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func fv6(src, dst string, nh layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
}

func testPackets(t testing.TB) map[string][]byte {
	pl := gopacket.Payload([]byte("hello"))
	udp4 := func(src, dst string, sp, dp int) []byte {
		ip := fv4(src, dst, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		u.SetNetworkLayerForChecksum(ip)
		return fBuild(t, fEth(layers.EthernetTypeIPv4), ip, u, pl)
	}
	tcp4 := func(src, dst string, sp, dp int) []byte {
		ip := fv4(src, dst, layers.IPProtocolTCP)
		tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: true, Window: 1000}
		tc.SetNetworkLayerForChecksum(ip)
		return fBuild(t, fEth(layers.EthernetTypeIPv4), ip, tc)
	}
	// IPv4 with options (IHL 6): ports must be found after the options.
	tcp4opt := func() []byte {
		ip := fv4("192.0.2.1", "198.51.100.100", layers.IPProtocolTCP)
		ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
		tc := &layers.TCP{SrcPort: 50000, DstPort: 443, SYN: true}
		tc.SetNetworkLayerForChecksum(ip)
		return fBuild(t, fEth(layers.EthernetTypeIPv4), ip, tc)
	}
	udp6 := func(src, dst string, sp, dp int) []byte {
		ip := fv6(src, dst, layers.IPProtocolUDP)
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		u.SetNetworkLayerForChecksum(ip)
		return fBuild(t, fEth(layers.EthernetTypeIPv6), ip, u, pl)
	}
	icmp := fBuild(t, fEth(layers.EthernetTypeIPv4), fv4("192.0.2.1", "192.0.2.2", layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, pl)
	// A second fragment of a UDP datagram: no ports in it.
	frag := func() []byte {
		ip := fv4("192.0.2.1", "198.51.100.102", layers.IPProtocolUDP)
		ip.FragOffset = 100
		return fBuild(t, fEth(layers.EthernetTypeIPv4), ip, gopacket.Payload([]byte{0x0d, 0x96, 0x0d, 0x96, 0, 0, 0, 0}))
	}
	arp := fBuild(t, fEth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: []byte{2, 0, 0, 0, 0, 1}, SourceProtAddress: []byte{192, 0, 2, 1},
		DstHwAddress: []byte{0, 0, 0, 0, 0, 0}, DstProtAddress: []byte{192, 0, 2, 2}})
	return map[string][]byte{
		"udp4-av":    udp4("192.0.2.1", "198.51.100.102", 50000, 3478), // client -> A/V VIP 3478
		"udp4-rtp":   udp4("198.51.100.13", "203.0.113.9", 51000, 52000),
		"tcp4-443":   tcp4("192.0.2.1", "198.51.100.100", 50000, 443),
		"tcp4-5061":  tcp4("172.16.1.10", "172.16.0.11", 40000, 5061),
		"tcp4-opt":   tcp4opt(),
		"udp6-3478":  udp6("2001:db8::1", "2001:db8:1::102", 50001, 3478),
		"icmp4":      icmp,
		"frag4":      frag(),
		"arp":        arp,
		"tcp4-22":    tcp4("203.0.113.5", "198.51.100.11", 60000, 22),
		"udp4-53":    udp4("172.16.0.11", "172.16.1.53", 53000, 53),
		"udp4-range": udp4("192.0.2.7", "198.51.100.13", 50020, 50040),
	}
}

func TestCompileFilterMatches(t *testing.T) {
	pk := testPackets(t)
	all := func(except ...string) []string {
		var out []string
	next:
		for n := range pk {
			for _, e := range except {
				if n == e {
					continue next
				}
			}
			out = append(out, n)
		}
		return out
	}
	cases := []struct {
		expr   string
		accept []string // everything else is rejected
	}{
		{"udp", []string{"udp4-av", "udp4-rtp", "udp6-3478", "frag4", "udp4-53", "udp4-range"}},
		{"tcp", []string{"tcp4-443", "tcp4-5061", "tcp4-opt", "tcp4-22"}},
		{"icmp", []string{"icmp4"}},
		{"arp", []string{"arp"}},
		{"ip6", []string{"udp6-3478"}},
		{"ip", all("udp6-3478", "arp")},
		{"not ip", []string{"udp6-3478", "arp"}},
		{"port 3478", []string{"udp4-av", "udp6-3478"}},
		{"udp port 3478", []string{"udp4-av", "udp6-3478"}},
		{"tcp port 3478", nil},
		{"dst port 443", []string{"tcp4-443", "tcp4-opt"}},
		{"src port 443", nil},
		{"tcp dst port 443 or 5061", []string{"tcp4-443", "tcp4-opt", "tcp4-5061"}},
		{"portrange 50030-50050", []string{"udp4-range"}},
		{"src portrange 50000-50001", []string{"udp4-av", "tcp4-443", "tcp4-opt", "udp6-3478"}},
		{"host 198.51.100.102", []string{"udp4-av", "frag4"}},
		{"src host 198.51.100.102", nil},
		{"dst host 198.51.100.102", []string{"udp4-av", "frag4"}},
		{"host 192.0.2.1 and not icmp", []string{"udp4-av", "tcp4-443", "tcp4-opt", "frag4"}},
		{"net 172.16.0.0/16", []string{"tcp4-5061", "udp4-53"}},
		{"net 172.16 and udp", []string{"udp4-53"}},
		{"src net 172.16.1.0 mask 255.255.255.0", []string{"tcp4-5061"}},
		{"ip6 host 2001:db8:1::102", []string{"udp6-3478"}},
		{"net 2001:db8::/32", []string{"udp6-3478"}},
		{"src net 2001:db8::/48", []string{"udp6-3478"}},
		{"dst net 2001:db8::/48", nil},
		{"(tcp port 22 or udp port 53) and not host 10.0.0.1", []string{"tcp4-22", "udp4-53"}},
		{"! (udp or tcp)", []string{"icmp4", "arp"}},
		{"tcp && (port 443 || port 22)", []string{"tcp4-443", "tcp4-opt", "tcp4-22"}},
		{"host 192.0.2.7 or 203.0.113.5", []string{"udp4-range", "tcp4-22"}},
		{"src or dst host 172.16.0.11", []string{"tcp4-5061", "udp4-53"}},
		{"src and dst net 172.16.0.0/16", []string{"tcp4-5061", "udp4-53"}},
		{"greater 1000", nil},
		{"less 1000", all()},
		{"net 0.0.0.0/0", all("udp6-3478", "arp")},
	}
	for _, c := range cases {
		prog, err := CompileFilter(c.expr, LinkTypeEthernet, 65535)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		vm := newVM(t, prog)
		want := map[string]bool{}
		for _, n := range c.accept {
			want[n] = true
		}
		for n, data := range pk {
			got, err := vm.Run(data)
			if err != nil {
				t.Fatalf("%q on %s: %v", c.expr, n, err)
			}
			if (got > 0) != want[n] {
				t.Errorf("%q on %s: accepted=%v, want %v", c.expr, n, got > 0, want[n])
			}
		}
	}
}

func newVM(t testing.TB, prog []bpf.RawInstruction) *bpf.VM {
	t.Helper()
	ins := make([]bpf.Instruction, len(prog))
	for i, r := range prog {
		ins[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("VM: %v", err)
	}
	return vm
}

func TestCompileFilterRawIP(t *testing.T) {
	pk := testPackets(t)
	prog, err := CompileFilter("udp port 3478 and host 198.51.100.102", LinkTypeRaw, 0)
	if err != nil {
		t.Fatal(err)
	}
	vm := newVM(t, prog)
	for n, data := range pk {
		got, _ := vm.Run(data[14:]) // the same packets without Ethernet
		if (got > 0) != (n == "udp4-av") {
			t.Errorf("%s: accepted=%v", n, got > 0)
		}
	}
	if prog, err := CompileFilter("arp", LinkTypeRaw, 0); err != nil {
		t.Fatal(err)
	} else if got, _ := newVM(t, prog).Run(pk["udp4-av"][14:]); got != 0 {
		t.Error("arp matched on a raw IP link")
	}
}

func TestCompileFilterVLANAssembles(t *testing.T) {
	// The VM cannot run the kernel's VLAN extensions; the kernel test
	// (live_test) runs them. Here: they compile and use the extensions.
	for _, e := range []string{"vlan", "vlan 10", "vlan 10 and udp port 3478", "not vlan"} {
		prog, err := CompileFilter(e, LinkTypeEthernet, 0)
		if err != nil {
			t.Fatalf("%q: %v", e, err)
		}
		found := false
		for _, r := range prog {
			if le, ok := r.Disassemble().(bpf.LoadExtension); ok && (le.Num == bpf.ExtVLANTagPresent || le.Num == bpf.ExtVLANTag) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: no VLAN extension load", e)
		}
	}
}

func TestCompileFilterRejects(t *testing.T) {
	cases := map[string]string{
		"tcp[13] & 2 != 0":               "byte offsets",
		"ip[0] = 0x45":                   "byte offsets",
		"ether host 00:11:22:33:44:55":   "ether",
		"len > 100":                      "byte offsets",
		"host www.example.com":           "not an IPv4 or IPv6 address",
		"port https":                     "not a port number",
		"proto 47":                       "proto",
		"tcp host 192.0.2.1":             "not supported",
		"icmp port 3":                    "not supported",
		"host":                           "needs a value",
		"port 70000":                     "not a port number",
		"(tcp":                           "missing )",
		"tcp)":                           "unexpected",
		"tcp and":                        "ends too early",
		"or udp":                         "unexpected",
		"gateway 192.0.2.1":              "gateway",
		"multicast":                      "multicast",
		"ip host 2001:db8::1":            "address family",
		"net 192.0.2.0 mask 255.0.255.0": "not contiguous",
		"igmp":                           "igmp",
		"inbound":                        "inbound",
		"1234":                           "needs a qualifier",
		"vlan 5000":                      "vlan",
		"portrange 10":                   "LOW-HIGH",
		"foo":                            "not supported",
	}
	for e, want := range cases {
		_, err := CompileFilter(e, LinkTypeEthernet, 0)
		if err == nil {
			t.Errorf("%q: accepted", e)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %q does not say %q", e, err, want)
		}
	}
	if _, err := CompileFilter("tcp[13] & 2 != 0", LinkTypeEthernet, 0); !errors.Is(err, ErrFilterUnsupported) {
		t.Errorf("byte offsets: %v is not ErrFilterUnsupported", err)
	}
	if p, err := CompileFilter("  ", LinkTypeEthernet, 0); err != nil || p != nil {
		t.Errorf("empty filter: %v %v", p, err)
	}
	// Too many alternatives for classic BPF's 8-bit jumps: an error, not a
	// wrong program.
	long := "port 1"
	for i := 2; i < 40; i++ {
		long += " or port " + strings.Repeat("1", 1) + string(rune('0'+i%10))
	}
	if _, err := CompileFilter(long, LinkTypeEthernet, 0); err == nil {
		t.Log("long filter compiled") // fine if it fits
	} else if !strings.Contains(err.Error(), "too") {
		t.Errorf("long filter: %v", err)
	}
}

func FuzzCompileFilter(f *testing.F) {
	for _, s := range []string{"udp port 3478", "host 192.0.2.1 and not (tcp port 22 or icmp)", "net 10.0.0.0/8",
		"src or dst host 2001:db8::1", "vlan 10 and portrange 50000-59999", "tcp[13] & 2 != 0", "less 100", "!(", "port 1 or 2 or 3"} {
		f.Add(s)
	}
	pk := testPackets(f)
	f.Fuzz(func(t *testing.T, expr string) {
		prog, err := CompileFilter(expr, LinkTypeEthernet, 0)
		if err != nil {
			return
		}
		if len(prog) == 0 {
			return
		}
		// Whatever compiles must be a valid program the kernel would take:
		// forward jumps inside the program, ending in a return.
		for i, r := range prog {
			if r.Op&0x07 == 0x05 { // BPF_JMP
				if r.Op&0xf0 == 0x00 { // ja
					if int(r.K)+i+1 >= len(prog) {
						t.Fatalf("%q: ja out of range at %d", expr, i)
					}
				} else if int(r.Jt)+i+1 >= len(prog) || int(r.Jf)+i+1 >= len(prog) {
					t.Fatalf("%q: jump out of range at %d", expr, i)
				}
			}
		}
		if last := prog[len(prog)-1]; last.Op&0x07 != 0x06 {
			t.Fatalf("%q: does not end in ret", expr)
		}
		ins := make([]bpf.Instruction, len(prog))
		for i, r := range prog {
			ins[i] = r.Disassemble()
		}
		vm, err := bpf.NewVM(ins)
		if err != nil {
			return // VLAN extensions: the VM does not know them
		}
		for _, d := range pk {
			if _, err := vm.Run(d); err != nil {
				t.Fatalf("%q: %v", expr, err)
			}
		}
	})
}
