package flows

import (
	"bytes"

	"github.com/edgeaudit/edgeaudit/flows/classify"
)

// isAnswer tells from a UDP payload that its sender answers rather than
// asks: a STUN success or error response, a DNS response, a SIP status
// line. The first packet of a capture is often an answer whose question
// was sent before the capture started.
func isAnswer(b []byte, srcPort uint16, m *classify.STUNMessage) bool {
	switch {
	case len(b) >= 20 && b[0] < 4:
		if classify.ParseSTUN(b, m) {
			return m.Class == classify.ClassSuccess || m.Class == classify.ClassError
		}
	case bytes.HasPrefix(b, sipStatus):
		return true
	}
	// Random payloads match a DNS header too often to go by bytes alone.
	return (srcPort == 53 || srcPort == 5353 || srcPort == 5355) && isDNSResponse(b)
}

var sipStatus = []byte("SIP/2.0 ")

// isDNSResponse checks the header shape of a DNS response: QR set, a
// standard opcode, one question.
func isDNSResponse(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	qr := b[2]&0x80 != 0
	opcode := (b[2] >> 3) & 0x0f
	qd := int(b[4])<<8 | int(b[5])
	return qr && opcode <= 2 && qd == 1
}
