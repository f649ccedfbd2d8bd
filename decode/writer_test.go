package decode

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "evidence.pcapng")

	a, err := CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	a.Write([]byte("half"))
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("final name exists before Commit")
	}
	if err := a.Abort(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Abort left %v", ents)
	}

	a, err = CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Abort() // no-op after Commit
	a.Write([]byte("whole"))
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "whole" {
		t.Fatalf("content %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("directory holds %v", ents)
	}
	if err := a.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
}

// ExtractFrames keeps the chosen frames, their interfaces and link types.
func TestExtractFrames(t *testing.T) {
	raw := serialize(t, ipv4(17), udp(5060, 5060))
	ethF := ethTCP(t, 9)
	recs := []testRecord{
		{iface: 0, ts: 1_000_000, data: ethF},
		{iface: 1, ts: 2_000_000_000, data: raw},
		{iface: 0, ts: 3_000_000, data: ethF},
		{iface: 1, ts: 4_000_000_000, data: raw, wire: 1500},
	}
	src := ngSection(binary.BigEndian, []ngIfaceSpec{{link: 1, name: "outside"}, {link: 101, name: "inside", tsres: 9}}, recs)
	path := filepath.Join(t.TempDir(), "src.pcapng.zst")
	if err := os.WriteFile(path, compress(t, CompressionZstd, src), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := ExtractFrames(&out, path, []uint64{4, 2, 4}); err != nil {
		t.Fatal(err)
	}
	f, err := NewReader(&out, "extract", -1)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, f)
	if err != io.EOF || len(pkts) != 2 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	for i, want := range []testRecord{recs[1], recs[3]} {
		p := pkts[i]
		if p.LinkType != 101 || p.Time != int64(want.ts) || !bytes.Equal(p.Data, raw) {
			t.Errorf("packet %d: %+v", i, p)
		}
	}
	if pkts[1].WireLen != 1500 {
		t.Errorf("wire length %d", pkts[1].WireLen)
	}
	if ifs := f.Interfaces(); len(ifs) != 1 || ifs[0].Name != "inside" {
		t.Errorf("interfaces %+v", ifs)
	}
	if err := ExtractFrames(io.Discard, path, []uint64{9}); err == nil {
		t.Error("frame past the end accepted")
	}
}

func TestWriteEvidence(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.pcap")
	if err := os.WriteFile(src, pcapBytes(binary.BigEndian, true, 1, testRecords(t, 5, 1e9)), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "out.pcapng")
	if err := WriteEvidence(dst, src, []uint64{7}); err == nil {
		t.Fatal("missing frame accepted")
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatal("failed extraction left a file under the final name")
	}
	if err := WriteEvidence(dst, src, []uint64{1, 5}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pkts, err := readAll(t, f); err != io.EOF || len(pkts) != 2 || f.Format != FormatPcapng {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("directory holds %v", ents)
	}
}

// TestCreateAtomicDevice: writing to /dev/null (or a FIFO) must not rename a
// regular file over the device.
func TestCreateAtomicDevice(t *testing.T) {
	st, err := os.Stat(os.DevNull)
	if err != nil || st.Mode().IsRegular() {
		t.Skip("no /dev/null device here")
	}
	f, err := CreateAtomic(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("report")); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	st, err = os.Stat(os.DevNull)
	if err != nil || st.Mode()&os.ModeDevice == 0 {
		t.Fatalf("%s is no longer a device: %v %v", os.DevNull, st.Mode(), err)
	}
}
