package classify

import (
	"encoding/hex"
	"os"
	"testing"
)

func TestDumpFlow(t *testing.T) {
	f := os.Getenv("DUMP")
	if f == "" {
		t.Skip()
	}
	for _, p := range readCapture(t, "/work/shared/captures/public/"+f) {
		if os.Getenv("PORT") != "" && os.Getenv("PORT") != itoa(int(p.src.Port())) && os.Getenv("PORT") != itoa(int(p.dst.Port())) {
			continue
		}
		n := min(len(p.payload), 160)
		t.Logf("#%d %s>%s syn=%v len=%d\n%s", p.frame, p.src, p.dst, p.syn, len(p.payload), hex.Dump(p.payload[:n]))
	}
}

func itoa(i int) string {
	b := []byte{}
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}
