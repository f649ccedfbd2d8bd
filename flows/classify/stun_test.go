package classify

import (
	"bytes"
	"net/netip"
	"testing"
)

func TestParseSTUNNATToolAllocate(t *testing.T) {
	b := natToolAllocate()
	if len(b) != 104 {
		t.Fatalf("vector is %d bytes, protocols.md §1.2 says 104", len(b))
	}
	var m STUNMessage
	if !ParseSTUN(b, &m) {
		t.Fatal("NAT-TOOL Allocate not recognised")
	}
	// MS-TURN wins although bytes 4-7 hold the RFC 5389 cookie.
	if m.Variant != VariantMSTURN || m.Padded || m.Class != ClassRequest || m.Method != MethodAllocate || !m.Legacy {
		t.Errorf("got %+v", m)
	}
	if !m.HasMSVersion || m.MSVersion != 4 || !m.HasUsername || m.UsernameHash == 0 || m.Attrs != 5 {
		t.Errorf("attrs: %+v", m)
	}
	if m.TxID != natToolTxID || !m.ExpectsAnswer() {
		t.Errorf("txid/answer: %x %v", m.TxID, m.ExpectsAnswer())
	}
}

func TestParseSTUNMSAllocateSuccess(t *testing.T) {
	// Non-cookie first txid word: 0x8020 must XOR with it, not with 2112A442.
	tx := [16]byte{0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	relay := netip.MustParseAddrPort("198.51.100.13:50123")
	refl := netip.MustParseAddrPort("203.0.113.77:61000")
	refl6 := netip.MustParseAddrPort("[2001:db8::77]:61001")
	b := stunMsg(0x0103, tx,
		msCookieAttr,
		attr(0x0001, addrAttr(relay, nil, nil), false),
		attr(0x8020, addrAttr(refl, tx[:], tx[:2]), false),
		attr(0x0015, []byte("realm.example"), false), // 13 bytes: unpadded
		attr(0x8050, append(bytes.Repeat([]byte{0xC1}, 20), 0, 0, 0, 9), false),
		attr(0x0008, make([]byte, 20), false))
	var m STUNMessage
	if !ParseSTUN(b, &m) {
		t.Fatal("not parsed")
	}
	if m.Variant != VariantMSTURN || m.Padded || m.Class != ClassSuccess || m.Method != MethodAllocate {
		t.Errorf("header: %+v", m)
	}
	if m.Mapped != relay || m.XORMapped != refl || !m.XORMappedMS {
		t.Errorf("mapped %v xor %v (ms %v)", m.Mapped, m.XORMapped, m.XORMappedMS)
	}
	if !m.HasMSSeq || m.MSSeq != 9 || m.MSConnID[0] != 0xC1 || !m.HasIntegrity || m.ExpectsAnswer() {
		t.Errorf("seq/mi: %+v", m)
	}
	// IPv6 in 0x8020 XORs with all 128 bits of the header tail.
	b6 := stunMsg(0x0103, tx, msCookieAttr, attr(0x8020, addrAttr(refl6, tx[:], tx[:2]), false))
	if !ParseSTUN(b6, &m) || m.XORMapped != refl6 {
		t.Errorf("ipv6 0x8020: %v", m.XORMapped)
	}
}

func TestParseSTUNLegacySemantics(t *testing.T) {
	tx := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	payload := []byte{0x80, 0x00, 0x01, 0x02, 0x03}
	tests := []struct {
		name   string
		typ    uint16
		class  STUNClass
		method uint16
		answer bool
	}{
		{"0x0004 Send (never answered)", 0x0004, ClassRequest, MethodMSSend, false},
		{"0x0115 Data Indication (not an error)", 0x0115, ClassIndication, MethodData, false},
		{"0x0006 Set Active Destination", 0x0006, ClassRequest, MethodMSSetActiveDestination, true},
		{"0x0106 SAD success", 0x0106, ClassSuccess, MethodMSSetActiveDestination, false},
		{"0x0113 Allocate error", 0x0113, ClassError, MethodAllocate, false},
		{"0x0003 Allocate", 0x0003, ClassRequest, MethodAllocate, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := stunMsg(tc.typ, tx, msCookieAttr, attr(0x0013, payload, false))
			var m STUNMessage
			if !ParseSTUN(b, &m) {
				t.Fatal("not parsed")
			}
			if m.Class != tc.class || m.Method != tc.method || m.ExpectsAnswer() != tc.answer {
				t.Errorf("class %d method %#x answer %v", m.Class, m.Method, m.ExpectsAnswer())
			}
			if !bytes.Equal(m.Data, payload) {
				t.Errorf("DATA %x", m.Data)
			}
		})
	}
	// The same 0x0115 decoded the RFC 5389 way would be an error response of
	// method 5: prove the MS path is taken even with the cookie in bytes 4-7.
	var m STUNMessage
	b := stunMsg(0x0115, natToolTxID, msCookieAttr, attr(0x0012, addrAttr(netip.MustParseAddrPort("192.0.2.1:5000"), nil, nil), false))
	if !ParseSTUN(b, &m) || m.Class != ClassIndication {
		t.Errorf("0x0115 with cookie: class %d", m.Class)
	}
}

func TestParseSTUNRFC5389AndICE(t *testing.T) {
	tx := natToolTxID
	refl := netip.MustParseAddrPort("192.0.2.10:40000")
	refl6 := netip.MustParseAddrPort("[2001:db8::10]:40001")
	var k [16]byte
	copy(k[:], tx[:])
	b := stunMsg(0x0101, tx,
		attr(0x0020, addrAttr(refl, k[:], k[:2]), true),
		attr(0x8070, []byte{0, 0, 0, 3}, true),
		attr(0x8022, []byte("x"), true)) // padded SOFTWARE
	var m STUNMessage
	if !ParseSTUN(b, &m) {
		t.Fatal("not parsed")
	}
	if m.Variant != VariantRFC5389 || !m.ICE || m.Class != ClassSuccess || m.Method != MethodBinding || m.XORMapped != refl || m.XORMappedMS {
		t.Errorf("%+v", m)
	}
	b6 := stunMsg(0x0101, tx, attr(0x0020, addrAttr(refl6, k[:], k[:2]), true))
	if !ParseSTUN(b6, &m) || m.XORMapped != refl6 {
		t.Errorf("ipv6 0x0020: %v", m.XORMapped)
	}
	relayed := netip.MustParseAddrPort("198.51.100.5:50000")
	b = stunMsg(0x0103, tx, attr(0x0016, addrAttr(relayed, k[:], k[:2]), true), attr(0x0009, []byte{0, 0, 4, 1}, true))
	if !ParseSTUN(b, &m) || m.XORRelayed != relayed || m.ErrorCode != 401 {
		t.Errorf("relayed %v err %d", m.XORRelayed, m.ErrorCode)
	}
}

func TestParseSTUNPaddedRetry(t *testing.T) {
	// An MS-TURN message whose attributes are padded: the unpadded walk fails,
	// the padded retry succeeds.
	b := stunMsg(0x0003, natToolTxID, msCookieAttr, attr(0x0015, []byte("abcde"), true), attr(0x0010, []byte{0, 0, 1, 0x5E}, true))
	var m STUNMessage
	if !ParseSTUN(b, &m) || !m.Padded || m.Attrs != 3 {
		t.Fatalf("padded retry: ok=%v %+v", ParseSTUN(b, &m), m)
	}
}

func TestParseSTUNClassicAndRejects(t *testing.T) {
	tx := [16]byte{9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	mapped := netip.MustParseAddrPort("192.0.2.99:3479")
	var m STUNMessage
	if !ParseSTUN(stunMsg(0x0101, tx, attr(0x0001, addrAttr(mapped, nil, nil), false)), &m) ||
		m.Variant != VariantClassic || m.Mapped != mapped || m.Class != ClassSuccess {
		t.Errorf("classic: %+v", m)
	}
	good := stunMsg(0x0001, natToolTxID, attr(0x0024, []byte{1, 2, 3, 4}, true))
	bad := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short", good[:19]},
		{"length mismatch", append(append([]byte{}, good...), 0)},
		{"top bits set", append([]byte{0xC0}, good[1:]...)},
		{"cookie, length not a multiple of 4", stunMsg(0x0001, natToolTxID, attr(0x0006, []byte("abc"), false))},
		{"classic type not in list", stunMsg(0x0009, tx)},
		{"classic walk overruns", stunMsg(0x0001, tx, []byte{0, 1, 0, 9, 0, 0, 0, 0})},
		{"MS magic, broken walk", stunMsg(0x0003, tx, msCookieAttr, []byte{0, 6, 0, 40, 1})},
	}
	for _, tc := range bad {
		if ParseSTUN(tc.b, &m) {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestNextSTUNFrame(t *testing.T) {
	alloc := natToolAllocate()
	rfc := stunMsg(0x0003, natToolTxID, attr(0x0019, []byte{17, 0, 0, 0}, true))
	rtp := rtpPacket(0, 1, 2, 3, 20)
	chd := []byte{0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0}
	mux := append([]byte{0xFF, 0x10, 0x00, 0x0B, 1, 2, 3, 4, 5, 6, 7, 8}, 0xAA, 0xBB, 0xCC)
	tests := []struct {
		name string
		in   []byte
		want []Framing
	}{
		{"MS control frame (protocols.md §2.2 Allocate)", msFrame(2, alloc), []Framing{FramingMSControl}},
		{"MS data frame with raw RTP", msFrame(3, rtp), []Framing{FramingMSData}},
		{"RFC 4571", rfc4571(rfc), []Framing{FramingRFC4571}},
		{"bare x3 in one segment", append(append(append([]byte{}, rfc...), rfc...), rfc...), []Framing{FramingBare, FramingBare, FramingBare}},
		{"bare MS-TURN (unpadded)", alloc, []Framing{FramingBare}},
		{"control then data", append(msFrame(2, alloc), msFrame(3, rtp)...), []Framing{FramingMSControl, FramingMSData}},
		{"ChannelData padded on TCP", chd, []Framing{FramingChannel}},
		{"FF10 multiplexed", mux, []Framing{FramingMSMux}},
		{"incomplete", msFrame(2, alloc)[:50], nil},
		{"not STUN", []byte("GET / HTTP/1.1\r\n\r\n"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.in
			var got []Framing
			for {
				_, f, rest, ok := NextSTUNFrame(b)
				if !ok {
					break
				}
				got = append(got, f)
				b = rest
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v want %v", got, tc.want)
				}
			}
		})
	}
	msg, _, _, _ := NextSTUNFrame(msFrame(2, alloc))
	if !bytes.Equal(msg, alloc) {
		t.Error("MS frame body differs")
	}
	msg, _, _, _ = NextSTUNFrame(mux)
	if !bytes.Equal(msg, []byte{0xAA, 0xBB, 0xCC}) {
		t.Errorf("FF10 body %x", msg)
	}
}

func TestChannelDataAndMux(t *testing.T) {
	var c ChannelData
	if !ParseChannelData([]byte{0x40, 0x00, 0x00, 0x03, 1, 2, 3}, &c) || c.Channel != 0x4000 || len(c.Data) != 3 {
		t.Error("ChannelData unpadded UDP")
	}
	if ParseChannelData([]byte{0x80, 0x00, 0x00, 0x00}, &c) || ParseChannelData([]byte{0x40, 0x00, 0x00, 0x09, 1}, &c) {
		t.Error("bad ChannelData accepted")
	}
	var x MSMux
	ok := ParseMSMux([]byte{0xFF, 0x10, 0x00, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x99}, &x)
	if !ok || x.SessionID != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} || len(x.Data) != 1 {
		t.Error("FF10")
	}
	if ParseMSMux([]byte{0xFF, 0x10, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7}, &x) {
		t.Error("FF10 with length < 8 accepted")
	}
}

func TestPseudoTLS(t *testing.T) {
	h, r := pseudoHello(), pseudoReply()
	if len(h) != 50 || len(r) != 83 || !IsPseudoTLSClientHello(h) || !IsPseudoTLSServerHello(r) {
		t.Fatal("spec vectors not recognised")
	}
	for i := range h {
		if i >= 11 && i < 43 {
			continue // random: not checked
		}
		m := append([]byte{}, h...)
		m[i] ^= 0x01
		if IsPseudoTLSClientHello(m) {
			t.Errorf("hello with byte %d changed accepted", i)
		}
	}
	for _, i := range []int{0, 4, 5, 43, 77, 79, 82} {
		m := append([]byte{}, r...)
		m[i] ^= 0x01
		if IsPseudoTLSServerHello(m) {
			t.Errorf("reply with byte %d changed accepted", i)
		}
	}
	if IsPseudoTLSClientHello(append(h, 0)) || IsPseudoTLSServerHello(r[:82]) {
		t.Error("wrong lengths accepted")
	}
	// The same hello goes through the TLS parser as the pseudo-TLS shape.
	var ti TLSInfo
	if !ParseTLS(h, r, &ti, false) || !ti.PseudoTLS || ti.CipherSuites != 1 || ti.Extensions != 0 || !ti.ServerDone || ti.Cipher != 0x0018 {
		t.Errorf("TLS view of pseudo-TLS: %+v", ti)
	}
}
