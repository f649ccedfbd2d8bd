package main

// RTP and RTCP as Lync sends them: RTAudio (PT 114), RTVideo (121) and
// H.264 (122) with a fixed SSRC per stream, incrementing sequence numbers
// and timestamps; RTCP sender and receiver reports. Payloads are SRTP
// ciphertext in reality, so they are pseudo-random here.

import (
	"encoding/binary"
	"math/rand/v2"
)

// rtpStream is one sender's RTP state.
type rtpStream struct {
	rng     *rand.Rand
	pt      byte
	ssrc    uint32
	seq     uint16
	ts      uint32
	tsStep  uint32
	size    int
	packets uint32
	octets  uint32
}

func newRTP(rng *rand.Rand, pt byte) *rtpStream {
	s := &rtpStream{rng: rng, pt: pt, ssrc: rng.Uint32(), seq: uint16(rng.Uint32()), ts: rng.Uint32()}
	switch pt {
	case 114: // RTAudio wideband, 20 ms at 16 kHz
		s.tsStep, s.size = 320, 96
	case 121, 122: // video, 90 kHz clock, ~30 fps
		s.tsStep, s.size = 3000, 900
	default:
		s.tsStep, s.size = 160, 160
	}
	return s
}

// next is the next RTP packet (with a 4-byte SRTP auth tag).
func (s *rtpStream) next() []byte {
	b := make([]byte, 12, 12+s.size+4)
	b[0] = 0x80
	b[1] = s.pt
	if s.packets == 0 {
		b[1] |= 0x80 // marker on the first packet of a talk spurt
	}
	binary.BigEndian.PutUint16(b[2:], s.seq)
	binary.BigEndian.PutUint32(b[4:], s.ts)
	binary.BigEndian.PutUint32(b[8:], s.ssrc)
	n := s.size - 8 + s.rng.IntN(16)
	b = append(b, randBytes(s.rng, n+4)...)
	s.seq++
	s.ts += s.tsStep
	s.packets++
	s.octets += uint32(n)
	return b
}

// senderReport is an RTCP SR followed by an SDES CNAME (a compound packet).
func (s *rtpStream) senderReport(ntpSec uint32) []byte {
	b := []byte{0x80, 200, 0, 6}
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	b = binary.BigEndian.AppendUint32(b, ntpSec)
	b = binary.BigEndian.AppendUint32(b, s.rng.Uint32())
	b = binary.BigEndian.AppendUint32(b, s.ts)
	b = binary.BigEndian.AppendUint32(b, s.packets)
	b = binary.BigEndian.AppendUint32(b, s.octets)
	return append(b, s.sdes()...)
}

// receiverReport is an RTCP RR about peer, sent by s's SSRC.
func (s *rtpStream) receiverReport(peer *rtpStream) []byte {
	b := []byte{0x81, 201, 0, 7}
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	b = binary.BigEndian.AppendUint32(b, peer.ssrc)
	b = append(b, 0, 0, 0, 0) // fraction lost, cumulative lost
	b = binary.BigEndian.AppendUint32(b, uint32(peer.seq))
	b = binary.BigEndian.AppendUint32(b, 12) // jitter
	b = binary.BigEndian.AppendUint32(b, 0)  // LSR
	b = binary.BigEndian.AppendUint32(b, 0)  // DLSR
	return append(b, s.sdes()...)
}

func (s *rtpStream) sdes() []byte {
	cname := "lync-" + hexString(binary.BigEndian.AppendUint32(nil, s.ssrc))
	item := append([]byte{1, byte(len(cname))}, cname...)
	item = append(item, 0)
	for (4+len(item))%4 != 0 {
		item = append(item, 0)
	}
	words := (4+4+len(item))/4 - 1
	b := []byte{0x81, 202, byte(words >> 8), byte(words)}
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	return append(b, item...)
}

// rfc4571 frames a packet for RTP over TCP (2-byte length prefix).
func rfc4571(p []byte) []byte { return append([]byte{byte(len(p) >> 8), byte(len(p))}, p...) }
