package audit

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/flows/classify"
)

// The spool encoding of a flow record: fixed-width numbers, then
// length-prefixed strings. It never leaves the process, so it has no
// version; decode checks lengths so a short read is an error, not a panic.

const (
	recHasMAC = 1 << iota
	recOrphanSYNACK
	recTLS
	recPseudoTLS
	recClientHello
	recServerHello
	recHandshakeSeen
	recCertRequest
	recMutual
)

var errRecShort = errors.New("flow records spool: truncated record")

func (fr *flowRec) encode(b []byte) []byte {
	l := &fr.label
	var flags uint16
	set := func(bit uint16, on bool) {
		if on {
			flags |= bit
		}
	}
	set(recHasMAC, fr.hasMAC)
	set(recOrphanSYNACK, fr.orphanSYNACK)
	set(recTLS, l.TLS)
	set(recPseudoTLS, l.PseudoTLS)
	set(recClientHello, l.ClientHello)
	set(recServerHello, l.ServerHello)
	set(recHandshakeSeen, l.HandshakeSeen)
	set(recCertRequest, l.CertRequest)
	set(recMutual, l.Mutual)
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = append(b, fr.proto, byte(l.App))
	b = binary.LittleEndian.AppendUint32(b, uint32(fr.point))
	b = appendEndpoint(b, fr.client)
	b = appendEndpoint(b, fr.server)
	for _, v := range [...]uint64{fr.packets[0], fr.packets[1], fr.bytes[0], fr.bytes[1], fr.payload[0], fr.payload[1],
		uint64(fr.first), uint64(fr.last), fr.frame} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	b = append(b, fr.clientMAC[:]...)
	b = append(b, fr.serverMAC[:]...)
	b = appendString(b, fr.end)
	b = appendString(b, l.Detail)
	b = appendString(b, l.Why)
	b = appendString(b, l.SNI)
	b = binary.AppendUvarint(b, uint64(len(l.Details)))
	for _, d := range l.Details {
		b = appendString(b, d.Key)
		b = appendString(b, d.Value)
	}
	return b
}

func appendEndpoint(b []byte, e flows.Endpoint) []byte {
	var a [16]byte
	kind := byte(0) // no address
	switch {
	case e.Addr.Is4():
		kind, a = 4, e.Addr.As16()
	case e.Addr.IsValid():
		kind, a = 6, e.Addr.As16()
	}
	b = append(b, kind)
	b = append(b, a[:]...)
	return binary.LittleEndian.AppendUint16(b, e.Port)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// recReader takes a record's encoding apart.
type recReader struct {
	b   []byte
	bad bool
}

func (r *recReader) take(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *recReader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *recReader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *recReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *recReader) uvarint() uint64 {
	if r.bad {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	return string(r.take(int(n)))
}

func (r *recReader) endpoint() flows.Endpoint {
	kind := r.u8()
	var a [16]byte
	copy(a[:], r.take(16))
	var addr netip.Addr
	switch kind {
	case 4:
		addr = netip.AddrFrom16(a).Unmap()
	case 6:
		addr = netip.AddrFrom16(a)
	}
	return flows.Endpoint{Addr: addr, Port: r.u16()}
}

func (fr *flowRec) decode(b []byte) error {
	r := &recReader{b: b}
	*fr = flowRec{}
	l := &fr.label
	flags := r.u16()
	fr.proto = r.u8()
	l.App = classify.App(r.u8())
	if p := r.take(4); p != nil {
		fr.point = int32(binary.LittleEndian.Uint32(p))
	}
	fr.client = r.endpoint()
	fr.server = r.endpoint()
	fr.packets = [2]uint64{r.u64(), r.u64()}
	fr.bytes = [2]uint64{r.u64(), r.u64()}
	fr.payload = [2]uint64{r.u64(), r.u64()}
	fr.first, fr.last, fr.frame = int64(r.u64()), int64(r.u64()), r.u64()
	copy(fr.clientMAC[:], r.take(6))
	copy(fr.serverMAC[:], r.take(6))
	fr.end = endReason(r.str())
	l.Detail, l.Why, l.SNI = r.str(), r.str(), r.str()
	if n := r.uvarint(); n > uint64(len(r.b)) {
		r.bad = true // each detail takes at least two bytes
	} else if n > 0 {
		l.Details = make([]flows.Detail, n)
		for i := range l.Details {
			l.Details[i] = flows.Detail{Key: r.str(), Value: r.str()}
		}
	}
	fr.hasMAC = flags&recHasMAC != 0
	fr.orphanSYNACK = flags&recOrphanSYNACK != 0
	l.TLS = flags&recTLS != 0
	l.PseudoTLS = flags&recPseudoTLS != 0
	l.ClientHello = flags&recClientHello != 0
	l.ServerHello = flags&recServerHello != 0
	l.HandshakeSeen = flags&recHandshakeSeen != 0
	l.CertRequest = flags&recCertRequest != 0
	l.Mutual = flags&recMutual != 0
	if r.bad || len(r.b) != 0 {
		return errRecShort
	}
	return nil
}

// endReason returns the flow table's constant for an end reason, so that
// decoded records share it instead of each holding a copy.
func endReason(s string) string {
	for _, c := range flows.EndReasons {
		if s == c {
			return c
		}
	}
	return s
}
