package decode

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestFuzzSeedsUpToDate checks the seed corpora taken from the bundled samples
// in testdata/fuzz (EDGEAUDIT_WRITE_SEEDS=1 rewrites them; the files are kept
// in the tree): the head of each compressed sample for FuzzOpen (every
// compression, bzip2 included, which the in-test seeds cannot make), and a
// spread of real frames for FuzzDecode.
func TestFuzzSeedsUpToDate(t *testing.T) {
	heads, _ := filepath.Glob("../samples/edge-mixed*.pcap*")
	if len(heads) == 0 {
		t.Fatal("no samples/edge-mixed* captures to take seeds from")
	}
	for _, p := range heads {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = b[:min(len(b), 1500)]
		writeSeed(t, "FuzzOpen", "sample-"+filepath.Base(p), b)
	}
	for _, p := range []string{"../samples/edge-mixed.pcap", "../samples/edge-mixed-2if.pcapng"} {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var pk Packet
		for i := 0; ; i++ {
			if err := f.Next(&pk); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if i%80 == 0 {
				writeSeed(t, "FuzzDecode", fmt.Sprintf("sample-%s-%d", filepath.Base(p), i), pk.Data)
			}
		}
		f.Close()
	}
}

// writeSeed checks that the committed seed equals what the samples give
// now, or rewrites it with EDGEAUDIT_WRITE_SEEDS=1.
func writeSeed(t *testing.T, target, name string, b []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	path := filepath.Join(dir, name)
	want := []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b))
	if os.Getenv("EDGEAUDIT_WRITE_SEEDS") == "" {
		got, err := os.ReadFile(path)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is missing or stale (rerun with EDGEAUDIT_WRITE_SEEDS=1): %v", path, err)
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
}
