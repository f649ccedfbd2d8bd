//go:build linux

package decode

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// vethPair makes a veth pair in this namespace (no addresses, no routes:
// frames are injected with a packet socket) and removes it at cleanup.
func vethPair(t *testing.T) (string, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture test: needs root for a veth pair and packet sockets (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("live capture test: iproute2 (ip) not installed")
	}
	a, b := fmt.Sprintf("eadl%d", os.Getpid()%100000), fmt.Sprintf("eadm%d", os.Getpid()%100000)
	exec.Command("ip", "link", "del", a).Run()
	if out, err := exec.Command("ip", "link", "add", a, "type", "veth", "peer", "name", b).CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	for _, n := range []string{a, b} {
		exec.Command("sysctl", "-qw", "net.ipv6.conf."+n+".disable_ipv6=1").Run()
		if out, err := exec.Command("ip", "link", "set", n, "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set up: %v: %s", err, out)
		}
	}
	return a, b
}

// inject sends raw frames out of iface.
func inject(t *testing.T, iface string, frames ...[]byte) {
	t.Helper()
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, f := range frames {
		if err := unix.Sendto(fd, f, 0, &unix.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}); err != nil {
			t.Fatal(err)
		}
	}
}

func udpFrame(t *testing.T, vlan uint16, dport int, payload string) []byte {
	var ls []gopacket.SerializableLayer
	ip := fv4("192.0.2.1", "192.0.2.2", layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(dport)}
	u.SetNetworkLayerForChecksum(ip)
	if vlan != 0 {
		ls = append(ls, fEth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: vlan, Type: layers.EthernetTypeIPv4})
	} else {
		ls = append(ls, fEth(layers.EthernetTypeIPv4))
	}
	ls = append(ls, ip, u, gopacket.Payload([]byte(payload)))
	return fBuild(t, ls...)
}

// next reads one frame or fails after a second.
func nextWithin(t *testing.T, l *Live, p *Packet) bool {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		ok, err := l.TryNext(p)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func TestLiveCaptureVLANFilterStatsClose(t *testing.T) {
	a, b := vethPair(t)
	l, err := OpenLive(b, LiveOptions{Filter: "udp port 3478 or vlan 10", SnapLen: 128})
	if err != nil {
		t.Fatal(err)
	}
	if l.LinkType != LinkTypeEthernet || l.Buffer <= 0 {
		t.Errorf("link type %d, buffer %d", l.LinkType, l.Buffer)
	}
	inject(t, a,
		udpFrame(t, 0, 9, "dropped by the filter"),
		udpFrame(t, 0, 3478, "first"),
		udpFrame(t, 10, 9, "tagged"),
		udpFrame(t, 20, 9, "other vlan, dropped"),
		udpFrame(t, 0, 3478, string(make([]byte, 400))), // longer than the snap length
	)
	var p Packet
	want := []struct {
		vlan    uint16
		payload string
	}{{0, "first"}, {10, "tagged"}, {0, ""}}
	d := NewDecoder(DecoderOptions{})
	for i, w := range want {
		if !nextWithin(t, l, &p) {
			t.Fatalf("frame %d did not arrive", i+1)
		}
		if p.Frame != uint64(i+1) || p.LinkType != LinkTypeEthernet || p.Time == 0 {
			t.Errorf("frame %d: number %d, link %d, time %d", i+1, p.Frame, p.LinkType, p.Time)
		}
		if err := d.Decode(&p); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if p.VLAN != w.vlan || (w.payload != "" && string(p.Payload) != w.payload) {
			t.Errorf("frame %d: vlan %d payload %q, want %d %q", i+1, p.VLAN, p.Payload, w.vlan, w.payload)
		}
		if i == 2 && (len(p.Data) != 128 || p.WireLen != 14+20+8+400) {
			t.Errorf("snap length: captured %d of %d", len(p.Data), p.WireLen)
		}
	}
	if nextWithin(t, l, &p) {
		t.Errorf("a frame the filter rejects arrived: % x", p.Data)
	}
	st, err := l.Stats()
	if err != nil || st.Received != 3 || st.Dropped != 0 {
		t.Errorf("stats %+v %v, want 3 received", st, err)
	}
	// Close unblocks a Next waiting in another goroutine.
	done := make(chan error, 1)
	go func() {
		var q Packet
		done <- l.Next(&q)
	}()
	time.Sleep(50 * time.Millisecond)
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Next after Close: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not unblock Next")
	}
	if st, _ := l.Stats(); st.Received != 3 {
		t.Errorf("stats after close %+v", st)
	}
}

func TestOpenLiveErrors(t *testing.T) {
	_, err := OpenLive("nosuch0", LiveOptions{})
	if !errors.Is(err, ErrNoInterface) {
		t.Errorf("missing interface: %v", err)
	}
	if _, err := OpenLive("lo", LiveOptions{Filter: "ether host 1:2:3:4:5:6"}); !errors.Is(err, ErrFilterUnsupported) {
		t.Errorf("bad filter: %v", err)
	}
	if os.Geteuid() != 0 {
		if _, err := OpenLive("lo", LiveOptions{}); !errors.Is(err, ErrNoPermission) {
			t.Errorf("unprivileged: %v", err)
		}
	}
}
