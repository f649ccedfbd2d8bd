package flows

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
)

// CommunityID returns the Community ID v1 (seed 0) of a TCP or UDP
// conversation, the id Zeek, Suricata and Arkime print for the same flow, so
// records can be joined across tools.
func CommunityID(proto uint8, a Endpoint, b Endpoint) string {
	aa, ba := a.Addr.AsSlice(), b.Addr.AsSlice()
	// Order endpoints as the spec does: by address, then by port.
	swap := false
	switch c := compareBytes(aa, ba); {
	case c > 0:
		swap = true
	case c == 0 && a.Port > b.Port:
		swap = true
	}
	if swap {
		a, b = b, a
		aa, ba = ba, aa
	}
	buf := make([]byte, 0, 2+len(aa)+len(ba)+6)
	buf = binary.BigEndian.AppendUint16(buf, 0) // seed
	buf = append(buf, aa...)
	buf = append(buf, ba...)
	buf = append(buf, proto, 0)
	buf = binary.BigEndian.AppendUint16(buf, a.Port)
	buf = binary.BigEndian.AppendUint16(buf, b.Port)
	sum := sha1.Sum(buf)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}

func compareBytes(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}
