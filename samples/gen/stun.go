package main

// STUN (RFC 5389) and MS-TURN ([MS-TURN] 2.2) messages, byte-exact to
// reference/protocols.md §1: MS-TURN messages start with the Magic Cookie
// attribute 0x000F = 72 C6 4B C6, carry unpadded attributes, swap NONCE
// (0x0014) and REALM (0x0015) relative to RFC 5389, and XOR the
// reflexive address (0x8020) with the first word of the transaction id.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"net/netip"
)

// MS-TURN legacy message types.
const (
	msAllocate        = 0x0003
	msAllocateOK      = 0x0103
	msAllocateErr     = 0x0113
	msSend            = 0x0004
	msDataInd         = 0x0115
	msSetActiveDst    = 0x0006
	msSetActiveDstOK  = 0x0106
	stunBinding       = 0x0001
	stunBindingOK     = 0x0101
	stunMagicCookie   = 0x2112A442
	msCookieAttrValue = 0x72C64BC6
)

// Attribute numbers used here.
const (
	aMapped         = 0x0001
	aUsername       = 0x0006
	aMsgIntegrity   = 0x0008
	aErrorCode      = 0x0009
	aLifetime       = 0x000D
	aMSCookie       = 0x000F
	aBandwidth      = 0x0010
	aDestAddr       = 0x0011
	aRemoteAddr     = 0x0012
	aData           = 0x0013
	aMSNonce        = 0x0014 // NONCE in MS-TURN numbering
	aMSRealm        = 0x0015 // REALM in MS-TURN numbering
	aXorMapped      = 0x0020
	aPriority       = 0x0024
	aUseCand        = 0x0025
	aMS8006         = 0x8006
	aMSVersion      = 0x8008
	aMSXorMapped    = 0x8020
	aSoftware       = 0x8022
	aFingerprint    = 0x8028
	aIceControlled  = 0x8029
	aIceControlling = 0x802A
	aMSSequence     = 0x8050
	aMSCandID       = 0x8054
	aMSImplVer      = 0x8070
)

type attr struct {
	typ uint16
	val []byte
}

// txid is the 16 bytes after the type and length: the RFC 5389 cookie
// plus 96 random bits (what real Lync clients send, per NAT-TOOL).
type txid [16]byte

func newTxid(rng *rand.Rand) txid {
	var t txid
	binary.BigEndian.PutUint32(t[:], stunMagicCookie)
	for i := 4; i < 16; i++ {
		t[i] = byte(rng.Uint32())
	}
	return t
}

// stunMsg encodes a message. padded selects RFC 5389 4-byte attribute
// padding; MS-TURN sends none. MESSAGE-INTEGRITY (key != nil) and
// FINGERPRINT are computed over the message as RFC 5389 §15.4/15.5 say.
func stunMsg(typ uint16, id txid, attrs []attr, padded bool, key []byte, fingerprint bool) []byte {
	b := make([]byte, 20, 200)
	binary.BigEndian.PutUint16(b, typ)
	copy(b[4:], id[:])
	put := func(t uint16, v []byte) {
		b = binary.BigEndian.AppendUint16(b, t)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
		if padded {
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
		}
	}
	for _, a := range attrs {
		put(a.typ, a.val)
	}
	if key != nil {
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)-20+24))
		m := hmac.New(sha1.New, key)
		m.Write(b)
		put(aMsgIntegrity, m.Sum(nil))
	}
	if fingerprint {
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)-20+8))
		put(aFingerprint, binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)^0x5354554E))
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-20))
	return b
}

func u32b(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// addrAttr is a plain (MAPPED-ADDRESS style) IPv4 address value.
func addrAttr(a netip.AddrPort) []byte {
	v := []byte{0, 1}
	v = binary.BigEndian.AppendUint16(v, a.Port())
	ip := a.Addr().As4()
	return append(v, ip[:]...)
}

// xorAddrAttr XORs port and address with the first transaction-id word:
// for RFC 5389 that word is the magic cookie, for MS-TURN 0x8020 it is
// whatever the client put there — both cases are this one function.
func xorAddrAttr(a netip.AddrPort, id txid) []byte {
	w := binary.BigEndian.Uint32(id[:4])
	v := []byte{0, 1}
	v = binary.BigEndian.AppendUint16(v, a.Port()^uint16(w>>16))
	ip := a.Addr().As4()
	return binary.BigEndian.AppendUint32(v, binary.BigEndian.Uint32(ip[:])^w)
}

func msCookie() attr { return attr{aMSCookie, u32b(msCookieAttrValue)} }

const turnRealm = "SIP Communications Service"

// turnSession is the MS-TURN state shared by a client and its Edge.
type turnSession struct {
	rng    *rand.Rand
	token  []byte // opaque USERNAME token (binary, not UTF-8)
	nonce  []byte
	key    []byte
	connID []byte // MS-Sequence-Number connection id
	seq    uint32
	relay  netip.AddrPort // MAPPED-ADDRESS of the Allocate success
	reflex netip.AddrPort // what the Edge saw as the client's address
}

func newTurnSession(rng *rand.Rand, relay, reflex netip.AddrPort) *turnSession {
	s := &turnSession{rng: rng, token: randBytes(rng, 48), connID: randBytes(rng, 20), relay: relay, reflex: reflex}
	s.nonce = []byte(hexString(randBytes(rng, 16)))
	k := md5.Sum(append(append(append([]byte{}, s.token...), ':'), []byte(turnRealm+":password")...))
	s.key = k[:]
	return s
}

func hexString(b []byte) string {
	const hx = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, hx[c>>4], hx[c&15])
	}
	return string(out)
}

func (s *turnSession) seqAttr() attr {
	s.seq++
	return attr{aMSSequence, append(append([]byte{}, s.connID...), u32b(s.seq)...)}
}

// allocate1 is the first, unauthenticated Allocate (the NAT-TOOL layout).
func (s *turnSession) allocate1(id txid) []byte {
	return stunMsg(msAllocate, id, []attr{msCookie(), {aMSVersion, u32b(4)}, {aUsername, s.token},
		{aBandwidth, u32b(350)}, {aMS8006, u32b(1)}}, false, nil, false)
}

// unauthorized is the 0x0113 401 carrying NONCE and REALM.
func (s *turnSession) unauthorized(id txid) []byte {
	ec := append([]byte{0, 0, 4, 1}, "Unauthorized"...)
	return stunMsg(msAllocateErr, id, []attr{msCookie(), {aErrorCode, ec},
		{aMSRealm, []byte(turnRealm)}, {aMSNonce, s.nonce}, {aMSVersion, u32b(4)}}, false, nil, false)
}

// allocate2 is the authenticated Allocate.
func (s *turnSession) allocate2(id txid) []byte {
	return stunMsg(msAllocate, id, []attr{msCookie(), {aMSVersion, u32b(4)}, {aUsername, s.token},
		{aBandwidth, u32b(350)}, {aMSRealm, []byte(turnRealm)}, {aMSNonce, s.nonce}, {aMS8006, u32b(1)}},
		false, s.key, false)
}

// allocateOK is the 0x0103 success: MAPPED-ADDRESS = relay, 0x8020 =
// server-reflexive address of the requester as the Edge saw it.
func (s *turnSession) allocateOK(id txid) []byte {
	return stunMsg(msAllocateOK, id, []attr{msCookie(), {aMapped, addrAttr(s.relay)},
		{aMSXorMapped, xorAddrAttr(s.reflex, id)}, {aLifetime, u32b(480)}, {aMSVersion, u32b(4)}},
		false, s.key, false)
}

// send is a Send request (0x0004) carrying data to dst. Never answered.
func (s *turnSession) send(id txid, dst netip.AddrPort, data []byte) []byte {
	return stunMsg(msSend, id, []attr{msCookie(), {aUsername, s.token}, {aDestAddr, addrAttr(dst)},
		{aMSVersion, u32b(4)}, s.seqAttr(), {aMSRealm, []byte(turnRealm)}, {aData, data}}, false, s.key, false)
}

// dataInd is a Data Indication (0x0115) from the relay to the client.
func (s *turnSession) dataInd(id txid, from netip.AddrPort, data []byte) []byte {
	return stunMsg(msDataInd, id, []attr{msCookie(), {aRemoteAddr, addrAttr(from)}, {aData, data}}, false, nil, false)
}

func (s *turnSession) setActive(id txid, dst netip.AddrPort) []byte {
	return stunMsg(msSetActiveDst, id, []attr{msCookie(), {aUsername, s.token}, {aDestAddr, addrAttr(dst)},
		{aMSVersion, u32b(4)}, s.seqAttr(), {aMSRealm, []byte(turnRealm)}, {aMSNonce, s.nonce}}, false, s.key, false)
}

func (s *turnSession) setActiveOK(id txid) []byte {
	return stunMsg(msSetActiveDstOK, id, []attr{msCookie(), {aMSVersion, u32b(4)}, s.seqAttr()}, false, s.key, false)
}

// iceCheck is an MS-ICE2 connectivity check (RFC 5389 Binding with cookie).
func iceCheck(rng *rand.Rand, id txid, controlling bool) []byte {
	user := hexString(randBytes(rng, 8)) + ":" + hexString(randBytes(rng, 8))
	role := attr{aIceControlled, randBytes(rng, 8)}
	if controlling {
		role = attr{aIceControlling, randBytes(rng, 8)}
	}
	return stunMsg(stunBinding, id, []attr{{aUsername, []byte(user)}, {aPriority, u32b(0x6e0001ff)}, role,
		{aMSCandID, []byte("1")}, {aMSImplVer, u32b(2)}}, true, randBytes(rng, 16), true)
}

// iceCheckOK answers a check with XOR-MAPPED-ADDRESS 0x0020.
func iceCheckOK(rng *rand.Rand, id txid, mapped netip.AddrPort) []byte {
	return stunMsg(stunBindingOK, id, []attr{{aXorMapped, xorAddrAttr(mapped, id)}, {aMSImplVer, u32b(2)}},
		true, randBytes(rng, 16), true)
}

// bindingReq is a plain RFC 5389 Binding request (SOFTWARE + FINGERPRINT).
func bindingReq(id txid) []byte {
	return stunMsg(stunBinding, id, []attr{{aSoftware, []byte("Microsoft Lync 15.0")}}, true, nil, true)
}

func bindingOK(id txid, mapped netip.AddrPort) []byte {
	return stunMsg(stunBindingOK, id, []attr{{aXorMapped, xorAddrAttr(mapped, id)}}, true, nil, true)
}

// pseudoTLSHello is the 50-byte MS-TURN fake ClientHello ([MS-TURN] 2.1.1).
func pseudoTLSHello(rng *rand.Rand) []byte {
	b := []byte{0x16, 0x03, 0x01, 0x00, 0x2d, 0x01, 0x00, 0x00, 0x29, 0x03, 0x01}
	b = append(b, randBytes(rng, 32)...)
	return append(b, 0x00, 0x00, 0x02, 0x00, 0x18, 0x01, 0x00)
}

// pseudoTLSReply is the 83-byte fake ServerHello + ServerHelloDone.
func pseudoTLSReply(rng *rand.Rand) []byte {
	b := []byte{0x16, 0x03, 0x01, 0x00, 0x4e, 0x02, 0x00, 0x00, 0x46, 0x03, 0x01}
	b = append(b, randBytes(rng, 32)...)
	b = append(b, 0x20)
	b = append(b, randBytes(rng, 32)...)
	return append(b, 0x00, 0x18, 0x00, 0x0e, 0x00, 0x00, 0x00)
}

// msFrame is the MS-TURN TCP framing: 0x02 control, 0x03 end-to-end data.
func msFrame(kind byte, msg []byte) []byte {
	return append([]byte{kind, 0, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}
