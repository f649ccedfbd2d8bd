package classify

// Framing says how a STUN-family message sat in a TCP stream.
type Framing uint8

// TCP framings of STUN/TURN (protocols.md §2.2).
const (
	FramingNone      Framing = iota
	FramingBare              // self-delimiting STUN header (RFC 5766/6062)
	FramingRFC4571           // 2-byte length prefix (RFC 4571/6544)
	FramingMSControl         // MS-TURN "02 00 len": TURN control message
	FramingMSData            // MS-TURN "03 00 len": end-to-end data (raw RTP/RTCP/STUN)
	FramingChannel           // TURN ChannelData 0x4000-0x7FFF, padded to 4 on TCP
	FramingMSMux             // MS multiplexed TURN "FF 10 len sessionid(8)"
)

var framingNames = [...]string{"none", "bare", "rfc4571", "ms-control", "ms-data", "channel-data", "ms-mux"}

func (f Framing) String() string {
	if int(f) < len(framingNames) {
		return framingNames[f]
	}
	return "none"
}

// maxSTUNFrame bounds a frame's declared size; larger is not STUN on a TCP relay.
const maxSTUNFrame = 65535 + 4

// looksSTUN is a cheap structural test for one complete STUN message in b
// (header rules plus cookie, MS magic attribute or a classic type).
func looksSTUN(b []byte) bool {
	if !stunHeaderOK(b) {
		return false
	}
	if be32(b[4:8]) == stunCookie {
		return true
	}
	if len(b) >= 28 && [8]byte(b[20:28]) == msMagicAttr {
		return true
	}
	return legacyType(be16(b[0:2])) && walkSTUN(b[20:], false, nil, b)
}

// NextSTUNFrame takes the next STUN-family message off the front of a TCP
// stream b. It tries MS 4-byte "02/03 00 len", then RFC 4571 2-byte, then
// bare self-delimiting STUN, ChannelData and FF10. msg is the message without
// its framing (for FramingMSData, the raw end-to-end payload); ok is false
// when no complete frame starts at b (not STUN, or more bytes needed).
func NextSTUNFrame(b []byte) (msg []byte, framing Framing, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, FramingNone, b, false
	}
	// MS-TURN 4-byte framing. 0x02/0x03 sit in the RFC 9443 "STUN" range, so
	// a naive demuxer would read them as a STUN type; test them first.
	if (b[0] == 2 || b[0] == 3) && b[1] == 0 {
		n := int(be16(b[2:4]))
		if n > 0 && len(b) >= 4+n {
			inner := b[4 : 4+n]
			if b[0] == 3 || looksSTUN(inner) {
				f := FramingMSControl
				if b[0] == 3 {
					f = FramingMSData
				}
				return inner, f, b[4+n:], true
			}
		}
	}
	// RFC 4571: a 2-byte length then a whole STUN message.
	if n := int(be16(b[0:2])); n >= 20 && len(b) >= 2+n && looksSTUN(b[2:2+n]) {
		return b[2 : 2+n], FramingRFC4571, b[2+n:], true
	}
	switch {
	case b[0]&0xC0 == 0:
		n := int(be16(b[2:4])) + 20
		if len(b) >= n && looksSTUN(b[:n]) {
			return b[:n], FramingBare, b[n:], true
		}
	case b[0] >= 0x40 && b[0] <= 0x7F:
		n := int(be16(b[2:4]))
		total := 4 + (n+3)&^3
		if len(b) >= total {
			return b[4 : 4+n], FramingChannel, b[total:], true
		}
	case b[0] == 0xFF && b[1] == 0x10:
		n := int(be16(b[2:4]))
		if n >= 8 && len(b) >= 4+n {
			return b[12 : 4+n], FramingMSMux, b[4+n:], true
		}
	}
	return nil, FramingNone, b, false
}

// ChannelData is a TURN ChannelData message (RFC 5766 §11.4).
type ChannelData struct {
	Channel uint16
	Data    []byte // aliases the input
}

// ParseChannelData recognises a ChannelData datagram: channel 0x4000-0x7FFF
// and a length that fits (UDP may omit the padding). Only meaningful once
// TURN was seen on the 5-tuple.
func ParseChannelData(b []byte, c *ChannelData) bool {
	if len(b) < 4 || b[0] < 0x40 || b[0] > 0x7F {
		return false
	}
	n := int(be16(b[2:4]))
	if 4+n > len(b) || len(b) > 4+(n+3)&^3 {
		return false
	}
	c.Channel, c.Data = be16(b[0:2]), b[4:4+n]
	return true
}

// MSMux is one [MS-TURN] 2.2.3 multiplexed TURN frame.
type MSMux struct {
	SessionID [8]byte
	Data      []byte // aliases the input
}

// ParseMSMux recognises "FF 10 len(2) sessionid(8) data" where len counts the
// bytes after the length field and the frame fills b exactly.
func ParseMSMux(b []byte, x *MSMux) bool {
	if len(b) < 12 || b[0] != 0xFF || b[1] != 0x10 {
		return false
	}
	n := int(be16(b[2:4]))
	if n < 8 || 4+n != len(b) {
		return false
	}
	copy(x.SessionID[:], b[4:12])
	x.Data = b[12:]
	return true
}

// pseudoTLSClientPrefix is the fixed start of the MS-TURN fake ClientHello.
var pseudoTLSClientPrefix = [11]byte{0x16, 0x03, 0x01, 0x00, 0x2D, 0x01, 0x00, 0x00, 0x29, 0x03, 0x01}

// pseudoTLSServerPrefix is the fixed start of the 83-byte fake ServerHello.
var pseudoTLSServerPrefix = [11]byte{0x16, 0x03, 0x01, 0x00, 0x4E, 0x02, 0x00, 0x00, 0x46, 0x03, 0x01}

// IsPseudoTLSClientHello reports whether b is exactly the 50-byte MS-TURN
// pseudo-TLS ClientHello ([MS-TURN] 2.1.1): no session id, the single suite
// 0x0018, null compression, no extensions. The random is not checked.
func IsPseudoTLSClientHello(b []byte) bool {
	return len(b) == 50 && [11]byte(b[:11]) == pseudoTLSClientPrefix &&
		b[43] == 0 && b[44] == 0 && b[45] == 2 && b[46] == 0 && b[47] == 0x18 &&
		b[48] == 1 && b[49] == 0
}

// IsPseudoTLSServerHello reports whether b is exactly the 83-byte MS-TURN
// pseudo-TLS reply: ServerHello with a 32-byte session id and suite 0x0018,
// and ServerHelloDone (0E 00 00 00) in the same record, no Certificate.
func IsPseudoTLSServerHello(b []byte) bool {
	return len(b) == 83 && [11]byte(b[:11]) == pseudoTLSServerPrefix &&
		b[43] == 0x20 && b[76] == 0 && b[77] == 0x18 && b[78] == 0 &&
		b[79] == 0x0E && b[80] == 0 && b[81] == 0 && b[82] == 0
}
