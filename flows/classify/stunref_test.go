package classify

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var hexType = regexp.MustCompile(`0x([0-9a-fA-F]{4})`)
var attrNum = regexp.MustCompile(`\(0x([0-9a-fA-F]{4})\)`)

// TestSTUNMessagesMatchWireshark decodes every STUN message Wireshark listed
// in tshark_stun_messages.tsv and compares type and attribute numbers in order.
func TestSTUNMessagesMatchWireshark(t *testing.T) {
	dir := capturesDir(t)
	refs, _ := filepath.Glob(filepath.Join(dir, "..", "public-reference", "*", "tshark_stun_messages.tsv"))
	if len(refs) == 0 {
		t.Skip("no tshark_stun_messages.tsv references")
	}
	for _, ref := range refs {
		name := filepath.Base(filepath.Dir(ref))
		t.Run(name, func(t *testing.T) {
			pkts := readCapture(t, filepath.Join(dir, name))
			byFrame := map[int][]string{} // frame → our decoded "type attrs" per message
			for _, p := range pkts {
				byFrame[p.frame] = decodeAllSTUN(p)
			}
			raw, _ := os.ReadFile(ref)
			seen := map[int]int{}
			n := 0
			for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				if i == 0 {
					continue
				}
				c := strings.Split(line, "\t")
				frame, _ := strconv.Atoi(c[0])
				ty := hexType.FindStringSubmatch(c[5])
				if ty == nil {
					continue
				}
				var attrs []string
				for _, m := range attrNum.FindAllStringSubmatch(c[6], -1) {
					attrs = append(attrs, strings.ToLower(m[1]))
				}
				want := strings.ToLower(ty[1]) + " " + strings.Join(attrs, ",")
				got, ok := byFrame[frame]
				if !ok {
					continue // a datagram quoted inside an ICMP error: the decoder's business, not ours
				}
				k := seen[frame]
				seen[frame]++
				if k >= len(got) {
					t.Errorf("frame %d: Wireshark has STUN message %d (%s), we decoded %d", frame, k+1, want, len(got))
					continue
				}
				if got[k] != want {
					t.Errorf("frame %d msg %d: got %q, Wireshark %q", frame, k+1, got[k], want)
				}
				n++
			}
			t.Logf("%d STUN messages agree with Wireshark", n)
		})
	}
}

// decodeAllSTUN decodes the STUN messages of one packet: a UDP datagram or
// the framed messages of a TCP segment.
func decodeAllSTUN(p pkt) []string {
	var out []string
	var m STUNMessage
	add := func(b []byte) {
		if !ParseSTUN(b, &m) {
			return
		}
		var attrs []string
		STUNAttrs(b, &m, func(typ uint16, _ []byte) { attrs = append(attrs, fmt.Sprintf("%04x", typ)) })
		out = append(out, fmt.Sprintf("%04x %s", m.Type, strings.Join(attrs, ",")))
	}
	if p.proto == 17 {
		add(p.payload)
		return out
	}
	b := p.payload
	for {
		msg, _, rest, ok := NextSTUNFrame(b)
		if !ok {
			return out
		}
		add(msg)
		b = rest
	}
}
