package decode

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func segFiles(t *testing.T, dir string) (final, temp []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			temp = append(temp, e.Name())
		} else {
			final = append(final, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(final)
	return final, temp
}

// readSeg reads a segment back with the package's own reader and returns
// (interface name, frame length) per frame.
func readSeg(t *testing.T, path string) (frames []string, compression string) {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	var p Packet
	for {
		err := f.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		frames = append(frames, f.Interfaces()[p.Point].Name+":"+string(p.Data))
	}
	return frames, f.Compression
}

func segOpts(dir string, c *fakeClock) SegmentOptions {
	return SegmentOptions{Dir: dir, Now: c.now, Interfaces: []SegmentInterface{
		{Name: "eth1", LinkType: LinkTypeEthernet, SnapLen: 65535}, {Name: "eth2", LinkType: LinkTypeEthernet}}}
}

func TestSegmentsRotateBySize(t *testing.T) {
	dir := t.TempDir()
	c := &fakeClock{t: time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)}
	o := segOpts(dir, c)
	o.MaxSize = 8 << 10
	w, err := NewSegmentWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	frame := strings.Repeat("x", 1000)
	for i := range 40 {
		if err := w.WritePacket(i%2, int64(i)*1e6, 1000, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		// While a segment is open it exists only under a hidden name.
		if final, _ := segFiles(t, dir); len(final) != len(w.Segments()) {
			t.Fatalf("after %d frames: %d files under final names, %d finished", i, len(final), len(w.Segments()))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	final, temp := segFiles(t, dir)
	if len(temp) != 0 {
		t.Errorf("temporary files left: %v", temp)
	}
	if len(final) < 4 {
		t.Fatalf("%d segments for 40 kB at 8 KiB each", len(final))
	}
	total := 0
	for _, p := range final {
		st, _ := os.Stat(p)
		if st.Size() > 8<<10+8<<10 {
			t.Errorf("%s: %d bytes, limit 8 KiB (+ one buffer)", p, st.Size())
		}
		frames, _ := readSeg(t, p)
		for _, f := range frames {
			if !strings.HasPrefix(f, "eth1:") && !strings.HasPrefix(f, "eth2:") {
				t.Errorf("%s: frame on interface %q", p, f[:5])
			}
		}
		total += len(frames)
	}
	if total != 40 {
		t.Errorf("%d frames in the segments, want 40", total)
	}
}

func TestSegmentsRotateByTimeKeepAndZstd(t *testing.T) {
	dir := t.TempDir()
	c := &fakeClock{t: time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)}
	o := segOpts(dir, c)
	o.MaxAge = time.Minute
	o.Keep = 2
	o.Zstd = true
	w, err := NewSegmentWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := w.WritePacket(0, c.t.UnixNano(), 5, []byte("frame")); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(30 * time.Second)
		if err := w.Rotate(); err != nil { // not due yet at 30 s
			t.Fatal(err)
		}
		if i == 0 && len(w.Segments()) != 0 {
			t.Fatal("rotated before MaxAge")
		}
		c.t = c.t.Add(31 * time.Second)
		if err := w.Rotate(); err != nil { // due: finished with no new packet
			t.Fatal(err)
		}
		if len(w.Segments()) == 0 {
			t.Fatal("Rotate did not finish an old segment")
		}
	}
	// Quiet: nothing open, nothing new.
	c.t = c.t.Add(time.Hour)
	w.Rotate()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	final, temp := segFiles(t, dir)
	if len(temp) != 0 {
		t.Errorf("temporary files left: %v", temp)
	}
	if len(final) != 2 {
		t.Fatalf("kept %d segments, want 2: %v", len(final), final)
	}
	for _, p := range final {
		if !strings.HasSuffix(p, ".pcapng.zst") {
			t.Errorf("%s: want .pcapng.zst", p)
		}
		frames, comp := readSeg(t, p)
		if comp != CompressionZstd || len(frames) != 1 || frames[0] != "eth1:frame" {
			t.Errorf("%s: %s %v", p, comp, frames)
		}
	}
	if got := w.Segments(); len(got) != 2 || got[1] != final[1] {
		t.Errorf("Segments() = %v, files %v", got, final)
	}
}

func TestSegmentsNothingWrittenLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := NewSegmentWriter(segOpts(dir, &fakeClock{t: time.Now()}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if final, temp := segFiles(t, dir); len(final)+len(temp) != 0 {
		t.Errorf("files left by an empty capture: %v %v", final, temp)
	}
	if err := w.WritePacket(0, 0, 1, []byte{1}); err == nil {
		t.Error("write after Close accepted")
	}
}

func TestSegmentsUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes anywhere; use a path under a file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o644)
		if _, err := NewSegmentWriter(segOpts(filepath.Join(f, "sub"), &fakeClock{})); err == nil {
			t.Error("directory under a file accepted")
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o555)
	if _, err := NewSegmentWriter(segOpts(dir, &fakeClock{})); err == nil {
		t.Error("read-only directory accepted")
	}
}
