package decode

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFuzzSeeds writes seed corpora taken from the bundled samples
// into testdata/fuzz (run with EDGEAUDIT_WRITE_SEEDS=1; the files are kept
// in the tree): the head of each compressed sample for FuzzOpen (every
// compression, bzip2 included, which the in-test seeds cannot make), and a
// spread of real frames for FuzzDecode.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("EDGEAUDIT_WRITE_SEEDS") == "" {
		t.Skip("set EDGEAUDIT_WRITE_SEEDS=1 to rewrite testdata/fuzz from ../samples")
	}
	heads, _ := filepath.Glob("../samples/edge-mixed*.pcap*")
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

func writeSeed(t *testing.T, target, name string, b []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)), 0o644); err != nil {
		t.Fatal(err)
	}
}
