package classify

// DNSInfo is a DNS header and its first question.
type DNSInfo struct {
	ID       uint16
	Response bool
	Opcode   uint8
	Rcode    uint8
	QDCount  uint16
	ANCount  uint16
	QType    uint16
	QClass   uint16
	NameLen  int // bytes of the dotted qname written to the caller buffer
}

// ParseDNS checks a DNS message (UDP payload, or one TCP message without its
// length prefix): a sane header and one complete first question. The dotted
// qname is written into name (truncated to its length) so nothing allocates.
func ParseDNS(b []byte, d *DNSInfo, name []byte) bool {
	*d = DNSInfo{}
	if len(b) < 17 {
		return false
	}
	flags := be16(b[2:4])
	d.ID, d.Response = be16(b[0:2]), flags&0x8000 != 0
	d.Opcode, d.Rcode = uint8(flags>>11)&0xF, uint8(flags&0xF)
	d.QDCount, d.ANCount = be16(b[4:6]), be16(b[6:8])
	ns, ar := be16(b[8:10]), be16(b[10:12])
	// One question is what every resolver sends; opcodes 0-2, 4 notify, 5 update.
	if d.QDCount != 1 || d.Opcode == 3 || d.Opcode > 5 || flags&0x0040 != 0 {
		return false
	}
	if !d.Response && d.ANCount > 0 && d.Opcode == 0 {
		return false
	}
	if d.ANCount > 256 || ns > 256 || ar > 256 {
		return false
	}
	p := 12
	for labels := 0; ; labels++ {
		if p >= len(b) || labels > 127 {
			return false
		}
		l := int(b[p])
		p++
		if l == 0 {
			break
		}
		if l > 63 || p+l > len(b) {
			return false
		}
		if d.NameLen > 0 && d.NameLen < len(name) {
			name[d.NameLen] = '.'
			d.NameLen++
		}
		d.NameLen += copy(name[min(d.NameLen, len(name)):], b[p:p+l])
		p += l
	}
	if p+4 > len(b) {
		return false
	}
	d.QType, d.QClass = be16(b[p:p+2]), be16(b[p+2:p+4])
	c := d.QClass &^ 0x8000 // mDNS unicast-response bit
	if d.QType == 0 || (c != 1 && c != 3 && c != 4 && c != 254 && c != 255) {
		return false
	}
	return true
}

// ParseDNSTCP checks DNS over TCP: a 2-byte length then a DNS message. The
// stream may hold only the start of a long message.
func ParseDNSTCP(b []byte, d *DNSInfo, name []byte) bool {
	if len(b) < 2 {
		return false
	}
	n := int(be16(b[0:2]))
	m := b[2:]
	if n < 17 {
		return false
	}
	if len(m) > n {
		m = m[:n]
	}
	return ParseDNS(m, d, name)
}
