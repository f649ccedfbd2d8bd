package classify

// Datagram is one UDP payload of a flow, in arrival order.
type Datagram struct {
	ToServer bool
	Data     []byte
}

// Input is what the flow table has accumulated for one flow. Classify is
// called again with more bytes until Result.Decided.
type Input struct {
	Transport              uint8 // 6 TCP, 17 UDP
	ClientPort, ServerPort uint16
	C2S, S2C               []byte     // TCP: in-order start of each direction (≤ MaxStreamBytes)
	Datagrams              []Datagram // UDP: first payloads (≤ MaxDatagrams)
	C2SClosed, S2CClosed   bool       // no more bytes will come that way
}

// Limits the flow table should respect when buffering for Classify; once a
// buffer reaches its limit Classify decides with what it has.
const (
	MaxStreamBytes = 16 << 10
	MaxDatagrams   = 16
)

// STUNInfo summarises the STUN family traffic of a flow.
type STUNInfo struct {
	Variant     STUNVariant
	ICE         bool    // MS-ICE2 connectivity checks (0x8054/0x8070)
	Framing     Framing // TCP framing of the first message (FramingNone on UDP)
	PseudoTLS   bool    // 50-byte MS-TURN pseudo-TLS ClientHello seen
	PseudoReply bool    // 83-byte pseudo-TLS ServerHello seen
	Messages    int     // STUN messages decoded during classification
	First       STUNMessage
	ChannelData bool // TURN ChannelData seen
	MSMux       bool // MS multiplexed TURN (FF 10) seen
}

// RTPInfo summarises RTP/RTCP evidence.
type RTPInfo struct {
	RTP     bool
	RTCP    bool
	PT      uint8
	SSRC    uint32
	Packets int // RTP packets that continued the stream
	RTCPPT  uint8
}

// Result is the classification of one flow. Classify overwrites it; its
// slices (STUN.First.Data) alias the Input.
//
// Detail values, by App:
//   - stun: ms-turn, ms-turn/pseudo-tls, ms-turn/tcp-framed, ms-turn/rfc4571,
//     ms-turn/mux, rfc5389, rfc5389/ice, rfc5389/rfc4571, rfc5389/ice/rfc4571,
//     classic, classic/rfc4571, turn-channel
//   - tls: tls1.0 … tls1.3, ssl3, tls (version not yet known), mtls, tls/midstream
//   - sip: sip/tls, sip/mtls, sip/tcp, sip/udp
//   - psom: psom/tls, psom/mtls; cls: cls/mtls
//   - xmpp: s2s, c2s, s2s/starttls, c2s/starttls, midstream, xmpp/mtls
//   - rtp: rtp, rtcp; dns: dns, dns/tcp; http: http, http/crl, http/ocsp
//   - unknown: "", no-payload, mdns, llmnr
type Result struct {
	App     App
	Detail  string // short variant for the report's app_detail (see above)
	Decided bool   // stop feeding bytes; before that App/Detail are provisional (TLS waiting for the client certificate...)
	Why     string // one sentence of payload evidence
	// Reversed is true when the protocol says the flow's "server" is really
	// the initiator: a UDP STUN or SIP request or DNS query sent S2C (or a
	// response sent C2S), or on TCP only the server direction carried bytes.
	Reversed bool

	TLS  TLSInfo
	SIP  SIPInfo
	XMPP XMPPInfo
	STUN STUNInfo
	RTP  RTPInfo
	DNS  DNSInfo
	HTTP HTTPInfo

	qnameLen int
	qname    [255]byte
}

// QName returns the first DNS question's name (aliasing r).
func (r *Result) QName() []byte { return r.qname[:r.qnameLen] }
