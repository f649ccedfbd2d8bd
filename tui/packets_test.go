package tui

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

const sampleOutside = "../samples/snat-av/outside.pcap"

// auditSample runs the real pipeline over a sample capture.
func auditSample(t *testing.T, path string) *report.Report {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("sample %s not generated yet (go run ./samples/gen)", path)
	}
	inputs, problems := audit.OpenFiles([]string{path})
	rep, err := audit.Run(context.Background(), inputs, problems, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func countFrames(t *testing.T, path string) int {
	t.Helper()
	f, err := decode.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p decode.Packet
	n := 0
	for {
		if err := f.Next(&p); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			return n
		}
		n++
	}
}

func TestTimelineReadsTheFlowsPackets(t *testing.T) {
	rep := auditSample(t, sampleOutside)
	ps := PointSource{Point: "outside.pcap", File: sampleOutside, Iface: -1}
	tested := 0
	for i := range rep.Flows {
		f := &rep.Flows[i]
		if f.Transport != "tcp" && f.Transport != "udp" {
			continue
		}
		pk, err := firstPackets(context.Background(), ps, f, timelineLen)
		if err != nil {
			t.Fatalf("%s: %v", f.ID, err)
		}
		want := min(timelineLen, int(f.Packets.C2S+f.Packets.S2C))
		if len(pk) != want {
			t.Errorf("%s: %d packets in the timeline, want %d", f.ID, len(pk), want)
			continue
		}
		if !pk[0].C2S {
			t.Errorf("%s: the first packet goes server to client", f.ID)
		}
		if f.Transport == "tcp" && pk[0].Flags&decode.TCPSyn == 0 && f.End != "" {
			t.Logf("%s: first packet %s (capture started mid-connection?)", f.ID, tcpFlags(pk[0].Flags))
		}
		tested++
	}
	if tested == 0 {
		t.Fatal("no flow to test")
	}
}

func TestWriteEvidenceAndFlow(t *testing.T) {
	rep := auditSample(t, sampleOutside)
	dir := t.TempDir()
	st := PlainStyles()
	m := New(Config{Styles: &st, OutDir: dir, Points: []PointSource{{Point: "outside.pcap", File: sampleOutside, Iface: -1}}}, nil)
	f := report.Finding{ID: "F9", Kind: "snat-av", Severity: "error", Requirement: "HLB-02",
		Evidence: []report.Evidence{{Point: "outside.pcap", Packet: 1}, {Point: "outside.pcap", Packet: 3}, {Point: "outside.pcap", Packet: 7}}}
	rep.Findings = append(rep.Findings, f)
	send(m, tea_resize(120, 30), doneMsg{Report: rep}, press("2"))
	// select F9
	for i := 0; i < len(rep.Findings); i++ {
		if s := m.findings.Selected(); s != nil && s.ID == "F9" {
			break
		}
		send(m, press("down"))
	}
	_, cmd := m.Update(press("w"))
	if cmd == nil {
		t.Fatalf("w gave no command: %s", m.notice)
	}
	msg := cmd().(writtenMsg)
	if msg.err != nil || len(msg.paths) != 1 {
		t.Fatalf("write: %+v", msg)
	}
	if !strings.HasPrefix(msg.paths[0], dir) || filepath.Ext(msg.paths[0]) != ".pcapng" {
		t.Errorf("written to %s", msg.paths[0])
	}
	if n := countFrames(t, msg.paths[0]); n != 3 {
		t.Errorf("%d frames in %s, want the 3 evidence frames", n, msg.paths[0])
	}
	send(m, msg)
	if !strings.Contains(m.notice, "wrote "+msg.paths[0]) {
		t.Errorf("notice %q", m.notice)
	}

	// A flow: all of its packets.
	send(m, press("3"))
	fl := m.flows.Selected()
	_, cmd = m.Update(press("w"))
	msg = cmd().(writtenMsg)
	if msg.err != nil {
		t.Fatal(msg.err)
	}
	if n, want := countFrames(t, msg.paths[0]), int(fl.Packets.C2S+fl.Packets.S2C); n != want {
		t.Errorf("flow %s: %d frames written, want %d", fl.ID, n, want)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(matches) > 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestFileName(t *testing.T) {
	if got := fileName("edgeaudit", "F1", "snat-av", "../../etc/x.pcap"); got != "edgeaudit-F1-snat-av-.._.._etc_x.pcapng" {
		t.Errorf("fileName = %q", got)
	}
}
