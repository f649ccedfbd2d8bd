package decode

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pppoeSession decodes a PPPoE session header and the PPP protocol field
// after it (DSL access links, as in the public DNS sample), as a
// DecodingLayer so the zero-allocation parser can go on to IPv4/IPv6.
// gopacket's PPPoE and PPP layers only decode through the allocating path.
type pppoeSession struct {
	layers.BaseLayer
	next gopacket.LayerType
}

var errPPPoE = errors.New("malformed PPPoE session frame")

func (p *pppoeSession) LayerType() gopacket.LayerType { return layers.LayerTypePPPoE }

func (p *pppoeSession) CanDecode() gopacket.LayerClass { return layers.LayerTypePPPoE }

func (p *pppoeSession) NextLayerType() gopacket.LayerType { return p.next }

func (p *pppoeSession) DecodeFromBytes(b []byte, df gopacket.DecodeFeedback) error {
	// ver/type(1) code(1) session(2) length(2), then PPP protocol(2).
	if len(b) < 8 || b[0] != 0x11 || b[1] != 0 {
		df.SetTruncated()
		return errPPPoE
	}
	n := int(binary.BigEndian.Uint16(b[4:6]))
	if n < 2 || 6+n > len(b) {
		return errPPPoE
	}
	switch binary.BigEndian.Uint16(b[6:8]) {
	case 0x0021:
		p.next = layers.LayerTypeIPv4
	case 0x0057:
		p.next = layers.LayerTypeIPv6
	default:
		p.next = gopacket.LayerTypePayload // LCP, IPCP...: not IP
	}
	p.Contents, p.Payload = b[:8], b[8:6+n]
	return nil
}
