package classify

// RTPHeader is the fixed part of an RTP packet (RFC 3550 §5.1).
type RTPHeader struct {
	PayloadType uint8
	Marker      bool
	Seq         uint16
	Timestamp   uint32
	SSRC        uint32
	HeaderLen   int // 12 + 4·CC + extension
}

// ParseRTP checks one RTP packet: version 2, a header that fits, a payload
// type outside the RTCP range 72-95 (RFC 5761), and padding that fits.
func ParseRTP(b []byte, h *RTPHeader) bool {
	if len(b) < 12 || b[0]&0xC0 != 0x80 {
		return false
	}
	pt := b[1] & 0x7F
	if pt >= 72 && pt <= 95 {
		return false // RTCP on a muxed port
	}
	n := 12 + 4*int(b[0]&0x0F)
	if n > len(b) {
		return false
	}
	if b[0]&0x10 != 0 { // header extension: profile(2) length-in-words(2)
		if n+4 > len(b) {
			return false
		}
		n += 4 + 4*int(be16(b[n+2:n+4]))
		if n > len(b) {
			return false
		}
	}
	if b[0]&0x20 != 0 { // padding: last byte counts pad bytes incl. itself
		p := int(b[len(b)-1])
		if p == 0 || n+p > len(b) {
			return false
		}
	}
	h.PayloadType, h.Marker = pt, b[1]&0x80 != 0
	h.Seq, h.Timestamp, h.SSRC = be16(b[2:4]), be32(b[4:8]), be32(b[8:12])
	h.HeaderLen = n
	return true
}

// RTCPInfo summarises one (compound) RTCP packet.
type RTCPInfo struct {
	FirstType uint8 // packet type of the first report (200-207)
	Packets   int   // reports in the compound packet
	SSRC      uint32
}

// ParseRTCP checks a compound RTCP packet: every report is version 2 with a
// type in 192-223 and a length field of words−1 that tiles b exactly; the
// first must be SR/RR/SDES/BYE/APP or, as Lync sends, PSFB/RTPFB/XR (200-207).
func ParseRTCP(b []byte, r *RTCPInfo) bool {
	if len(b) < 8 || len(b)%4 != 0 || b[0]&0xC0 != 0x80 || b[1] < 200 || b[1] > 207 {
		return false
	}
	r.FirstType, r.SSRC, r.Packets = b[1], be32(b[4:8]), 0
	for len(b) > 0 {
		if len(b) < 4 || b[0]&0xC0 != 0x80 || b[1] < 192 || b[1] > 223 {
			return false
		}
		n := 4 * (int(be16(b[2:4])) + 1)
		if n > len(b) {
			return false
		}
		r.Packets++
		b = b[n:]
	}
	return true
}

// IsRTCP reports whether b is a valid compound RTCP packet.
func IsRTCP(b []byte) bool {
	var r RTCPInfo
	return ParseRTCP(b, &r)
}

// RTPTracker follows one direction's RTP stream to confirm it over several
// packets: same SSRC, same payload type, sequence numbers advancing by a
// small step. It is a small value type with no allocation.
type RTPTracker struct {
	SSRC    uint32
	PT      uint8
	LastSeq uint16
	Run     int // consecutive packets that continued the stream
}

// rtpMaxGap is the largest forward sequence step still counted as continuity
// (loss and reordering in a capture).
const rtpMaxGap = 100

// Add feeds one RTP header; it returns the current run length.
func (t *RTPTracker) Add(h *RTPHeader) int {
	if t.Run > 0 && h.SSRC == t.SSRC && h.PayloadType == t.PT {
		d := h.Seq - t.LastSeq
		if d >= 1 && d <= rtpMaxGap {
			t.Run++
			t.LastSeq = h.Seq
			return t.Run
		}
		if d == 0 || d > 0xFFFF-rtpMaxGap { // duplicate or reordered: keep the run
			return t.Run
		}
	}
	t.SSRC, t.PT, t.LastSeq, t.Run = h.SSRC, h.PayloadType, h.Seq, 1
	return 1
}

// Confirmed reports whether at least three packets continued one stream.
func (t *RTPTracker) Confirmed() bool { return t.Run >= 3 }

// Demux classes of a datagram's first byte (RFC 7983 / RFC 9443).
const (
	DemuxUnknown = iota
	DemuxSTUN    // 0-3
	DemuxZRTP    // 16-19
	DemuxDTLS    // 20-63
	DemuxChannel // 64-79 TURN ChannelData
	DemuxRTP     // 128-191 RTP/RTCP
	DemuxMSMux   // 0xFF 0x10 MS multiplexed TURN
)

// Demux classifies a datagram by its first byte(s).
func Demux(b []byte) int {
	if len(b) == 0 {
		return DemuxUnknown
	}
	switch c := b[0]; {
	case c <= 3:
		return DemuxSTUN
	case c >= 16 && c <= 19:
		return DemuxZRTP
	case c >= 20 && c <= 63:
		return DemuxDTLS
	case c >= 64 && c <= 79:
		return DemuxChannel
	case c >= 128 && c <= 191:
		return DemuxRTP
	case c == 0xFF && len(b) > 1 && b[1] == 0x10:
		return DemuxMSMux
	}
	return DemuxUnknown
}
