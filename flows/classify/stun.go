package classify

import "net/netip"

// STUNVariant says which STUN dialect a message is written in.
type STUNVariant uint8

// STUN dialects (protocols.md §1.1).
const (
	VariantNone    STUNVariant = iota
	VariantClassic             // RFC 3489 / draft TURN, no cookie
	VariantRFC5389             // RFC 5389/8489 STUN and RFC 5766 TURN, cookie at bytes 4-7
	VariantMSTURN              // Microsoft [MS-TURN]: first attribute 0x000F = 72C64BC6
)

var variantNames = [...]string{"none", "classic", "rfc5389", "ms-turn"}

func (v STUNVariant) String() string {
	if int(v) < len(variantNames) {
		return variantNames[v]
	}
	return "none"
}

// STUNClass is the message class.
type STUNClass uint8

// Message classes as RFC 5389 numbers them.
const (
	ClassRequest    STUNClass = 0
	ClassIndication STUNClass = 1
	ClassSuccess    STUNClass = 2
	ClassError      STUNClass = 3
)

// STUN/TURN methods (RFC 5389/5766/6062), plus the MS-TURN legacy methods
// that collide with RFC numbers and so get their own values.
const (
	MethodBinding           uint16 = 0x001
	MethodSharedSecret      uint16 = 0x002
	MethodAllocate          uint16 = 0x003
	MethodRefresh           uint16 = 0x004
	MethodSend              uint16 = 0x006
	MethodData              uint16 = 0x007
	MethodCreatePermission  uint16 = 0x008
	MethodChannelBind       uint16 = 0x009
	MethodConnect           uint16 = 0x00A
	MethodConnectionBind    uint16 = 0x00B
	MethodConnectionAttempt uint16 = 0x00C
	// MethodMSSend is legacy type 0x0004: a Send request that is never answered.
	MethodMSSend uint16 = 0x1004
	// MethodMSSetActiveDestination is legacy 0x0006/0x0106/0x0116.
	MethodMSSetActiveDestination uint16 = 0x1006
)

// Attribute numbers the parser decodes.
const (
	attrMappedAddress    = 0x0001
	attrUsername         = 0x0006
	attrMessageIntegrity = 0x0008
	attrErrorCode        = 0x0009
	attrMSMagicCookie    = 0x000F
	attrData             = 0x0013
	attrXORRelayed       = 0x0016
	attrXORMapped        = 0x0020
	attrMSVersion        = 0x8008
	attrMSXORMapped      = 0x8020
	attrFingerprint      = 0x8028
	attrMSSequence       = 0x8050
	attrMSCandidateID    = 0x8054
	attrMSImplVersion    = 0x8070
	attrMSMuxSessionID   = 0x8095
)

const stunCookie = 0x2112A442

// msMagicAttr is the whole first attribute of every MS-TURN message.
var msMagicAttr = [8]byte{0x00, 0x0F, 0x00, 0x04, 0x72, 0xC6, 0x4B, 0xC6}

// STUNMessage is one decoded STUN/TURN message. ParseSTUN overwrites every field.
type STUNMessage struct {
	Variant STUNVariant
	ICE     bool   // MS-ICE2 attributes 0x8054 or 0x8070 present
	Type    uint16 // raw 16-bit message type
	Class   STUNClass
	Method  uint16 // Method* constants
	Legacy  bool   // type decoded with the RFC 3489 / MS-TURN legacy table
	Length  uint16 // header length field (bytes after the 20-byte header)
	TxID    [16]byte
	Padded  bool // attributes were 4-byte padded (false: MS-TURN unpadded walk)
	Attrs   int  // number of attributes walked

	Mapped      netip.AddrPort // MAPPED-ADDRESS 0x0001 (MS-TURN Allocate success: the relay)
	XORMapped   netip.AddrPort // XOR-MAPPED-ADDRESS, from 0x0020 or 0x8020
	XORMappedMS bool           // XORMapped came from MS 0x8020 (XORed with TxID word 0)
	XORRelayed  netip.AddrPort // XOR-RELAYED-ADDRESS 0x0016 (RFC 5766 only)

	HasMSVersion bool
	MSVersion    uint32
	HasMSSeq     bool
	MSConnID     [20]byte // MS-Sequence-Number connection id
	MSSeq        uint32
	HasMuxID     bool
	MuxSessionID [8]byte // Multiplexed-TURN-Session-ID 0x8095

	HasUsername  bool
	UsernameHash uint64 // FNV-1a of the USERNAME bytes, to count distinct users

	HasIntegrity   bool
	HasFingerprint bool
	ErrorCode      uint16 // 0 when absent
	Data           []byte // DATA 0x0013 value, aliasing the input (for recursion)
}

// ExpectsAnswer reports whether a response to this message should be seen:
// false for indications, responses, MS Send 0x0004 and Data Indication 0x0115.
func (m *STUNMessage) ExpectsAnswer() bool {
	return m.Class == ClassRequest && m.Method != MethodMSSend
}

// legacyType reports whether t is in the RFC 3489 / draft-TURN / MS-TURN type list.
func legacyType(t uint16) bool {
	switch t {
	case 0x0001, 0x0101, 0x0111,
		0x0002, 0x0102, 0x0112,
		0x0003, 0x0103, 0x0113,
		0x0004, 0x0104, 0x0114,
		0x0115,
		0x0006, 0x0106, 0x0116:
		return true
	}
	return false
}

// decodeLegacy maps a legacy type to class and method ([MS-TURN] 2.2.1).
func decodeLegacy(m *STUNMessage) {
	t := m.Type
	m.Legacy = true
	switch t & 0x0110 {
	case 0x0000:
		m.Class = ClassRequest
	case 0x0100:
		m.Class = ClassSuccess
	default:
		m.Class = ClassError
	}
	switch t & 0x000F {
	case 4:
		m.Method = MethodMSSend
	case 6:
		m.Method = MethodMSSetActiveDestination
	default:
		m.Method = t & 0x000F
	}
	if t == 0x0115 {
		// Data Indication from draft-rosenberg-midcom-turn-08, not an error response.
		m.Class, m.Method = ClassIndication, MethodData
	}
}

// decodeRFC5389 splits an RFC 5389 type into class and method.
func decodeRFC5389(m *STUNMessage) {
	t := m.Type
	m.Legacy = false
	m.Class = STUNClass((t>>4)&1 | (t>>7)&2)
	m.Method = (t & 0x000F) | (t&0x00E0)>>1 | (t&0x3E00)>>2
}

// stunHeaderOK checks the fixed header rules shared by all dialects.
func stunHeaderOK(b []byte) bool {
	return len(b) >= 20 && b[0]&0xC0 == 0 && int(be16(b[2:4]))+20 == len(b)
}

// ParseSTUN decodes b, which must be exactly one STUN message (UDP payload or
// one de-framed TCP message), following protocols.md §1.6. It returns false
// when b is not STUN. m.Data aliases b.
func ParseSTUN(b []byte, m *STUNMessage) bool {
	*m = STUNMessage{}
	if !stunHeaderOK(b) {
		return false
	}
	m.Type = be16(b[0:2])
	m.Length = be16(b[2:4])
	copy(m.TxID[:], b[4:20])
	attrs := b[20:]
	switch {
	case len(attrs) >= 8 && [8]byte(attrs[:8]) == msMagicAttr:
		// MS-TURN, checked before the cookie: real clients also set 2112A442.
		m.Variant = VariantMSTURN
		switch {
		case walkSTUN(attrs, false, nil, b):
			m.Padded = false
			walkSTUN(attrs, false, m, b)
		case walkSTUN(attrs, true, nil, b):
			m.Padded = true
			walkSTUN(attrs, true, m, b)
		default:
			return false
		}
		if legacyType(m.Type) {
			decodeLegacy(m)
		} else {
			decodeRFC5389(m)
		}
	case be32(b[4:8]) == stunCookie:
		if m.Length%4 != 0 || !walkSTUN(attrs, true, nil, b) {
			return false
		}
		m.Variant, m.Padded = VariantRFC5389, true
		walkSTUN(attrs, true, m, b)
		decodeRFC5389(m)
	case legacyType(m.Type):
		// Classic: exact unpadded walk (RFC 3489 attributes are multiples of 4 anyway).
		if !walkSTUN(attrs, false, nil, b) {
			return false
		}
		m.Variant = VariantClassic
		walkSTUN(attrs, false, m, b)
		decodeLegacy(m)
	default:
		return false
	}
	return true
}

// walkSTUN walks attributes; with m nil it only checks that the walk ends
// exactly at the end of a, otherwise it decodes into m.
func walkSTUN(a []byte, padded bool, m *STUNMessage, msg []byte) bool {
	for len(a) > 0 {
		if len(a) < 4 {
			return false
		}
		t, l := be16(a[0:2]), int(be16(a[2:4]))
		if 4+l > len(a) {
			return false
		}
		v := a[4 : 4+l]
		step := 4 + l
		if padded {
			step = 4 + (l+3)&^3
			if step > len(a) {
				return false
			}
		}
		if m != nil {
			m.Attrs++
			decodeAttr(t, v, m, msg)
		}
		a = a[step:]
	}
	return true
}

func decodeAttr(t uint16, v []byte, m *STUNMessage, msg []byte) {
	switch t {
	case attrMappedAddress:
		m.Mapped = stunAddr(v, nil, nil)
	case attrXORMapped:
		// RFC 5389: port XOR top 16 bits of the cookie, address XOR cookie(+txid).
		var k [16]byte
		k[0], k[1], k[2], k[3] = 0x21, 0x12, 0xA4, 0x42
		copy(k[4:], msg[8:20])
		if a := stunAddr(v, k[:], k[:2]); a.IsValid() {
			m.XORMapped, m.XORMappedMS = a, false
		}
	case attrMSXORMapped:
		// [MS-TURN] 2.2.2.16: XOR with the first 32 bits of the transaction id
		// (bytes 4-7, whatever they hold); IPv6 with all 128 bits.
		if a := stunAddr(v, msg[4:20], msg[4:6]); a.IsValid() && !m.XORMapped.IsValid() {
			m.XORMapped, m.XORMappedMS = a, true
		}
	case attrXORRelayed:
		if m.Variant != VariantMSTURN {
			var k [16]byte
			k[0], k[1], k[2], k[3] = 0x21, 0x12, 0xA4, 0x42
			copy(k[4:], msg[8:20])
			m.XORRelayed = stunAddr(v, k[:], k[:2])
		}
	case attrUsername:
		m.HasUsername = true
		m.UsernameHash = fnv64(v)
	case attrMessageIntegrity:
		m.HasIntegrity = true
	case attrFingerprint:
		m.HasFingerprint = true
	case attrErrorCode:
		if len(v) >= 4 {
			m.ErrorCode = uint16(v[2]&7)*100 + uint16(v[3])
		}
	case attrData:
		m.Data = v
	case attrMSVersion:
		if len(v) == 4 {
			m.HasMSVersion, m.MSVersion = true, be32(v)
		}
	case attrMSSequence:
		if len(v) == 24 {
			m.HasMSSeq = true
			copy(m.MSConnID[:], v[:20])
			m.MSSeq = be32(v[20:24])
		}
	case attrMSMuxSessionID:
		if len(v) == 8 {
			m.HasMuxID = true
			copy(m.MuxSessionID[:], v)
		}
	case attrMSCandidateID, attrMSImplVersion:
		m.ICE = true
	}
}

// stunAddr decodes an address attribute (family 1 IPv4, 2 IPv6). key (≥16
// bytes) XORs the address and pkey (2 bytes) the port; nil for plain.
func stunAddr(v, key, pkey []byte) netip.AddrPort {
	if len(v) < 4 {
		return netip.AddrPort{}
	}
	port := be16(v[2:4])
	if pkey != nil {
		port ^= be16(pkey)
	}
	switch {
	case v[1] == 1 && len(v) == 8:
		var a [4]byte
		for i := range a {
			a[i] = v[4+i]
			if key != nil {
				a[i] ^= key[i]
			}
		}
		return netip.AddrPortFrom(netip.AddrFrom4(a), port)
	case v[1] == 2 && len(v) == 20:
		var a [16]byte
		for i := range a {
			a[i] = v[4+i]
			if key != nil {
				a[i] ^= key[i]
			}
		}
		return netip.AddrPortFrom(netip.AddrFrom16(a), port)
	}
	return netip.AddrPort{}
}

// STUNAttrs calls f for each attribute of a message already accepted by
// ParseSTUN into m (which says whether the walk is padded). val aliases msg.
func STUNAttrs(msg []byte, m *STUNMessage, f func(typ uint16, val []byte)) {
	if len(msg) < 20 {
		return
	}
	a := msg[20:]
	for len(a) >= 4 {
		t, l := be16(a[0:2]), int(be16(a[2:4]))
		if 4+l > len(a) {
			return
		}
		f(t, a[4:4+l])
		step := 4 + l
		if m.Padded {
			step = min(4+(l+3)&^3, len(a))
		}
		a = a[step:]
	}
}
