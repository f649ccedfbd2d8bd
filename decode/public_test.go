package decode

import (
	"bytes"

	"errors"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// publicCaptures is the shared directory of public captures next to the
// repository (../shared/captures/public from the module root).
func publicCaptures(t testing.TB) []string {
	dir := filepath.Join("..", "..", "shared", "captures", "public")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("public captures not present (%s): %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".tsv") && !strings.HasSuffix(e.Name(), ".md") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func TestPublicCaptures(t *testing.T) {
	for _, path := range publicCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			d := NewDecoder(DecoderOptions{})
			var p Packet
			var n, ip int
			for {
				err := f.Next(&p)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
				if err := d.Decode(&p); err != nil {
					t.Errorf("%s: packet %d: %v", path, p.Frame, err)
				}
				if p.IPVersion != 0 {
					ip++
				}
			}
			if n == 0 || ip == 0 {
				t.Errorf("%d packets, %d IP", n, ip)
			}
			t.Logf("%s %s: %d packets, %d IP, frag %+v", f.Format, f.Compression, n, ip, d.Stats().Frag)
		})
	}
}

// TestPublicCapturesMatchPcapgo checks the reader against gopacket's own
// readers, frame by frame: same count, timestamps, lengths and bytes.
func TestPublicCapturesMatchPcapgo(t *testing.T) {
	for _, path := range publicCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var ref interface {
				ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
			}
			if isPcapngMagic(raw) {
				ref, err = pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
			} else {
				ref, err = pcapgo.NewReader(bytes.NewReader(raw))
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := NewReader(bytes.NewReader(raw), path, int64(len(raw)))
			if err != nil {
				t.Fatal(err)
			}
			var p Packet
			for n := 1; ; n++ {
				data, ci, rerr := ref.ReadPacketData()
				err := f.Next(&p)
				if rerr == io.EOF || err == io.EOF {
					if rerr != err {
						t.Fatalf("packet %d: pcapgo %v, ours %v", n, rerr, err)
					}
					break
				}
				if rerr != nil || err != nil {
					t.Fatalf("packet %d: pcapgo %v, ours %v", n, rerr, err)
				}
				if p.Time != ci.Timestamp.UnixNano() || p.WireLen != ci.Length || !bytes.Equal(p.Data, data) {
					t.Fatalf("packet %d differs: time %d/%d len %d/%d", n, p.Time, ci.Timestamp.UnixNano(), p.WireLen, ci.Length)
				}
			}
		})
	}
}
