//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// End-to-end tests of `edgeaudit live`: the real binary in a network
// namespace of its own, fed by tcpreplay or by real sockets. Root only (CI
// runs as root); everything is torn down by t.Cleanup. Addresses are the
// documentation ranges, inside namespaces created here.

func liveRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("live end-to-end: skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("live capture is Linux only")
	}
	if os.Geteuid() != 0 {
		t.Skip("live end-to-end: needs root for network namespaces and packet sockets (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("live end-to-end: iproute2 (ip) not installed")
	}
}

// liveBinary builds bin/edgeaudit for the test (EDGEAUDIT_BIN overrides).
func liveBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("EDGEAUDIT_BIN")
	if bin == "" {
		// Not t.TempDir (0700): the unprivileged run must reach it.
		dir, err := os.MkdirTemp("", "edgeaudit-live-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o755)
		bin = filepath.Join(dir, "edgeaudit")
		build := exec.Command("go", "build", "-o", bin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	if out, err := exec.Command(bin, "live", "--help").CombinedOutput(); err != nil {
		t.Fatalf("the live command is not registered in main.go (root.AddCommand(..., newLiveCmd())): %s", strings.TrimSpace(string(out)))
	}
	return bin
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// netns creates a namespace and removes it (and what is in it) at cleanup.
func netns(t *testing.T, name string) {
	t.Helper()
	exec.Command("ip", "netns", "del", name).Run()
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
}

// veth creates a pair, a in namespace nsA ("" for this one), b in nsB, both
// up, IPv6 off so the kernel's own neighbour discovery stays out of the
// capture.
func veth(t *testing.T, a, nsA, b, nsB string) {
	t.Helper()
	exec.Command("ip", "link", "del", a).Run()
	sh(t, "ip", "link", "add", a, "type", "veth", "peer", "name", b)
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	for _, e := range [][2]string{{a, nsA}, {b, nsB}} {
		if e[1] != "" {
			sh(t, "ip", "link", "set", e[0], "netns", e[1])
		}
		pre := []string{"ip"}
		sys := []string{"sysctl", "-qw"}
		if e[1] != "" {
			pre = []string{"ip", "-n", e[1]}
			sys = []string{"ip", "netns", "exec", e[1], "sysctl", "-qw"}
		}
		exec.Command(sys[0], append(sys[1:], "net.ipv6.conf."+e[0]+".disable_ipv6=1")...).Run()
		sh(t, append(pre, "link", "set", e[0], "up")...)
	}
}

// liveRun is a running `edgeaudit live`.
type liveRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	ready  chan struct{}
	done   chan struct{}
	code   int
}

func startLive(t *testing.T, ns, bin string, args ...string) *liveRun {
	t.Helper()
	full := append([]string{"netns", "exec", ns, bin, "live"}, args...)
	r := &liveRun{cmd: exec.Command("ip", full...), ready: make(chan struct{}), done: make(chan struct{})}
	stdout, _ := r.cmd.StdoutPipe()
	stderr, _ := r.cmd.StderrPipe()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			if strings.Contains(sc.Text(), "capturing on") {
				once.Do(func() { close(r.ready) })
			}
		}
	}()
	go func() {
		wg.Wait()
		err := r.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			r.code = -1
		}
		close(r.done)
	}()
	select {
	case <-r.ready:
	case <-r.done:
		t.Fatalf("live exited at start (%d): %s", r.code, r.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("live did not start: %s", r.stderr.String())
	}
	return r
}

func (r *liveRun) records(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for i, l := range r.lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line %d is not JSON: %v: %q", i+1, err, l)
		}
		out = append(out, m)
	}
	return out
}

// waitFor polls the records until ok or the deadline.
func (r *liveRun) waitFor(t *testing.T, d time.Duration, ok func([]map[string]any) bool) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok(r.records(t)) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// stop signals the run and returns how long it took to exit.
func (r *liveRun) stop(t *testing.T, sig syscall.Signal) time.Duration {
	t.Helper()
	start := time.Now()
	// ip netns exec execs the binary: the pid is edgeaudit's.
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("live did not stop within 10 s of %v", sig)
	}
	return time.Since(start)
}

func byType(recs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, m := range recs {
		if m["type"] == typ {
			out = append(out, m)
		}
	}
	return out
}

func hasKind(recs []map[string]any, kind string) bool {
	for _, m := range byType(recs, "finding") {
		if m["kind"] == kind {
			return true
		}
	}
	return false
}

// flowKey is what must be the same whether a flow was seen live, read from
// a segment or from the original capture: the tuple, app and counters.
func flowKey(m map[string]any) string {
	pk, _ := m["packets"].(map[string]any)
	by, _ := m["bytes"].(map[string]any)
	return fmt.Sprintf("%v %v>%v %v c2s=%v/%v s2c=%v/%v", m["transport"], m["client"], m["server"], m["app"],
		pk["c2s"], by["c2s"], pk["s2c"], by["s2c"])
}

func flowKeys(recs []map[string]any, state string) []string {
	var out []string
	for _, m := range byType(recs, "flow") {
		if state != "" && m["state"] != state {
			continue
		}
		out = append(out, flowKey(m))
	}
	sort.Strings(out)
	return out
}

// auditNDJSON runs `edgeaudit audit --format ndjson` and parses it.
func auditNDJSON(t *testing.T, bin string, args ...string) ([]map[string]any, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"audit", "--format", "ndjson"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	dec := json.NewDecoder(&out)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("audit output: %v\n%s", err, errb.String())
		}
		recs = append(recs, m)
	}
	return recs, code
}

// TestLiveReplaySNATAV replays the SNAT-on-A/V capture onto a veth whose
// other end edgeaudit captures in a namespace, and checks the stream, the
// stop on SIGINT and the written segment against the original capture.
func TestLiveReplaySNATAV(t *testing.T) {
	liveRoot(t)
	if _, err := exec.LookPath("tcpreplay"); err != nil {
		t.Skip("tcpreplay not installed (CI installs it: .ci/install-deps)")
	}
	capture := filepath.Join(samples, "snat-av", "inside.pcap")
	topo := filepath.Join(samples, "topology.yaml")
	if _, err := os.Stat(capture); err != nil {
		t.Skip("samples not generated: run `go run ./samples/gen`")
	}
	capture, _ = filepath.Abs(capture)
	topo, _ = filepath.Abs(topo)
	bin := liveBinary(t)
	id := fmt.Sprint(os.Getpid() % 100000)
	ns, a, b := "ealive"+id, "ear"+id, "eac"+id
	netns(t, ns)
	veth(t, a, "", b, ns)
	dir := t.TempDir()
	segs := filepath.Join(dir, "segs")

	r := startLive(t, ns, bin, "--headless", "-i", b, "--write", segs, "--topology", topo, "--flow-interval", "1s")
	out, err := exec.Command("tcpreplay", "-i", a, "--pps", "2000", capture).CombinedOutput()
	if err != nil {
		t.Fatalf("tcpreplay: %v\n%s", err, out)
	}
	if !r.waitFor(t, 10*time.Second, func(recs []map[string]any) bool { return hasKind(recs, "snat-av") }) {
		t.Errorf("no snat-av finding streamed within 10 s of the replay; stderr:\n%s", r.stderr.String())
	}
	// Open flows are snapshotted every second while they last.
	if !r.waitFor(t, 3*time.Second, func(recs []map[string]any) bool { return len(flowKeys(recs, "open")) > 0 }) {
		t.Error("no open-flow snapshot within 3 s")
	}
	took := r.stop(t, syscall.SIGINT)
	if took > time.Second {
		t.Errorf("stopping on SIGINT took %v, want under a second", took)
	}
	if r.code != exitFindings {
		t.Errorf("exit status %d, want %d (errors found); stderr:\n%s", r.code, exitFindings, r.stderr.String())
	}
	recs := r.records(t)
	live := flowKeys(recs, "ended")
	if len(live) == 0 {
		t.Fatalf("no ended flow records; stderr:\n%s", r.stderr.String())
	}
	inputs := byType(recs, "input")
	if len(inputs) != 1 || inputs[0]["format"] != "live" || inputs[0]["point"] != b {
		t.Errorf("input records: %v", inputs)
	}

	// The original capture, the segment and the live stream agree.
	orig, code := auditNDJSON(t, bin, "--topology", topo, capture)
	if code != exitFindings || !hasKind(orig, "snat-av") {
		t.Fatalf("audit of the original: status %d, snat-av %v", code, hasKind(orig, "snat-av"))
	}
	files, _ := filepath.Glob(filepath.Join(segs, "*.pcapng"))
	hidden, _ := filepath.Glob(filepath.Join(segs, ".*"))
	if len(files) != 1 || len(hidden) != 0 {
		t.Fatalf("segments %v, temporary files %v: want one finished segment", files, hidden)
	}
	seg, code := auditNDJSON(t, bin, "--topology", topo, segs)
	if code != exitFindings || !hasKind(seg, "snat-av") {
		t.Errorf("audit of the segment: status %d, snat-av %v", code, hasKind(seg, "snat-av"))
	}
	want := flowKeys(orig, "")
	if got := flowKeys(seg, ""); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("segment flows differ from the original's:\n got %q\nwant %q", got, want)
	}
	if strings.Join(live, "\n") != strings.Join(want, "\n") {
		t.Errorf("live flows differ from the original's:\n got %q\nwant %q", live, want)
	}
	kinds := func(recs []map[string]any) string {
		var k []string
		for _, f := range byType(recs, "finding") {
			k = append(k, fmt.Sprint(f["kind"], " ", f["requirement"]))
		}
		sort.Strings(k)
		return strings.Join(slicesCompact(k), ",")
	}
	if kinds(seg) != kinds(orig) {
		t.Errorf("segment findings %s, original %s", kinds(seg), kinds(orig))
	}
}

func slicesCompact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// inNetns runs fn on an OS thread moved into the namespace: sockets it
// opens belong there. The thread is discarded afterwards.
func inNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	var ferr error
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			ferr = err
			return
		}
		defer f.Close()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			ferr = err
			return
		}
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ferr = err
			return
		}
		fn()
	}()
	<-done
	if ferr != nil {
		t.Fatalf("entering %s: %v", ns, ferr)
	}
}

// TestLiveRealTraffic captures real TCP and UDP exchanges between two
// namespaces, with a kernel capture filter, and stops on SIGTERM.
func TestLiveRealTraffic(t *testing.T) {
	liveRoot(t)
	bin := liveBinary(t)
	id := fmt.Sprint(os.Getpid() % 100000)
	nsC, nsS := "eacli"+id, "easrv"+id
	netns(t, nsC)
	netns(t, nsS)
	a, b := "eaq"+id, "eas"+id
	veth(t, a, nsC, b, nsS)
	sh(t, "ip", "-n", nsC, "addr", "add", "192.0.2.1/24", "dev", a)
	sh(t, "ip", "-n", nsS, "addr", "add", "192.0.2.2/24", "dev", b)

	// The filter drops ARP and the UDP to port 9 the kernel must not pass.
	r := startLive(t, nsS, bin, "--headless", "-i", b, "-f", "tcp port 5061 or udp port 3478", "--flow-interval", "0")

	var ln net.Listener
	inNetns(t, nsS, func() {
		var err error
		if ln, err = net.Listen("tcp4", "192.0.2.2:5061"); err != nil {
			t.Error(err)
		}
	})
	if ln == nil {
		t.FailNow()
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				n, _ := c.Read(buf)
				c.Write([]byte("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
				_ = n
			}()
		}
	}()
	var usrv *net.UDPConn
	inNetns(t, nsS, func() {
		var err error
		if usrv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 3478}); err != nil {
			t.Error(err)
		}
	})
	if usrv == nil {
		t.FailNow()
	}
	defer usrv.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := usrv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			usrv.WriteToUDP(buf[:n], from)
		}
	}()

	const tcpConns, udpMsgs = 3, 10
	inNetns(t, nsC, func() {
		for range tcpConns {
			c, err := net.DialTimeout("tcp4", "192.0.2.2:5061", 2*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			c.Write([]byte("OPTIONS sip:192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1\r\nContent-Length: 0\r\n\r\n"))
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			io.ReadAll(c)
			c.Close()
		}
		u, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 3478})
		if err != nil {
			t.Error(err)
			return
		}
		defer u.Close()
		buf := make([]byte, 64)
		for i := range udpMsgs {
			u.Write([]byte(fmt.Sprintf("datagram %d", i)))
			u.SetReadDeadline(time.Now().Add(time.Second))
			u.Read(buf)
		}
		// Filtered out in the kernel: never reaches edgeaudit.
		d, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 9})
		if err == nil {
			for range 5 {
				d.Write([]byte("discard"))
			}
			d.Close()
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	// Closed TCP flows linger 30 s in the table and the UDP flow idles for
	// 2 minutes: they are flushed by the stop.
	time.Sleep(200 * time.Millisecond)
	took := r.stop(t, syscall.SIGTERM)
	if took > time.Second {
		t.Errorf("stopping on SIGTERM took %v", took)
	}
	if r.code != exitOK && r.code != exitFindings {
		t.Fatalf("exit status %d; stderr:\n%s", r.code, r.stderr.String())
	}
	recs := r.records(t)
	var tcp, udp int
	var flowPackets float64
	for _, f := range byType(recs, "flow") {
		if f["state"] != "ended" {
			continue
		}
		pk := f["packets"].(map[string]any)
		c2s, s2c := pk["c2s"].(float64), pk["s2c"].(float64)
		flowPackets += c2s + s2c
		switch {
		case f["transport"] == "tcp" && strings.HasSuffix(f["server"].(string), ":5061"):
			tcp++
			if c2s < 4 || s2c < 3 {
				t.Errorf("tcp flow %v: %v/%v packets, want a whole connection", f["client"], c2s, s2c)
			}
		case f["transport"] == "udp" && f["server"] == "192.0.2.2:3478":
			udp++
			if c2s != udpMsgs || s2c != udpMsgs {
				t.Errorf("udp flow: %v/%v packets, want %d each way", c2s, s2c, udpMsgs)
			}
		default:
			t.Errorf("flow the filter should have dropped: %v %v -> %v", f["transport"], f["client"], f["server"])
		}
	}
	if tcp != tcpConns || udp != 1 {
		t.Errorf("%d tcp and %d udp flows, want %d and 1", tcp, udp, tcpConns)
	}
	in := byType(recs, "input")
	if len(in) != 1 {
		t.Fatalf("input records: %v", in)
	}
	// Nothing but the filtered flows' packets was captured (no ARP, no
	// port 9): the kernel ran the filter.
	if got := in[0]["packets"].(float64); got != flowPackets {
		t.Errorf("input has %v packets, the flows %v: the filter let other frames through", got, flowPackets)
	}
}

// TestLiveErrors: a missing interface names those that exist; an
// unsupported filter is refused; without CAP_NET_RAW one line says so.
func TestLiveErrors(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("needs the binary on Linux")
	}
	bin := liveBinary(t)
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return errb.String(), code
	}
	if msg, code := run("live", "-i", "nosuch0"); code != exitUsage || !strings.Contains(msg, "nosuch0") || !strings.Contains(msg, "lo") {
		t.Errorf("missing interface: %d %q", code, msg)
	}
	if msg, code := run("live", "-i", "lo", "-f", "tcp[13] & 2 != 0"); code != exitUsage || !strings.Contains(msg, "not supported") {
		t.Errorf("unsupported filter: %d %q", code, msg)
	}
	if msg, code := run("live"); code != exitUsage || !strings.Contains(msg, "-i") {
		t.Errorf("no interface: %d %q", code, msg)
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("setpriv"); err == nil {
			cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin, "live", "-i", "lo")
			var errb bytes.Buffer
			cmd.Stderr = &errb
			err := cmd.Run()
			var ee *exec.ExitError
			msg := strings.TrimSpace(errb.String())
			if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(msg, "CAP_NET_RAW") || strings.Count(msg, "\n") != 0 {
				t.Errorf("unprivileged: %v %q", err, msg)
			}
		}
	}
}
