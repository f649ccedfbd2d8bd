package flows

import (
	"strconv"
	"strings"

	"github.com/edgeaudit/edgeaudit/flows/classify"
)

// Label is what a flow keeps of its classification once the buffers it was
// decided from are gone: the answer, the evidence sentence, and the protocol
// facts the policy and the report use. Strings are copies of packet bytes.
type Label struct {
	App    classify.App
	Detail string
	Why    string

	TLS           bool // a TLS record layer was seen (real or pseudo)
	PseudoTLS     bool // MS-TURN's fake handshake
	ClientHello   bool
	ServerHello   bool
	HandshakeSeen bool // the server's handshake was seen in clear, so Mutual means something
	CertRequest   bool
	Mutual        bool
	SNI           string

	// Details are protocol facts for the report, in a fixed order.
	Details []Detail
}

// Detail is one named protocol fact ("sni", "sip_method"...).
type Detail struct{ Key, Value string }

// labelOf copies what is worth keeping out of a classifier result.
func labelOf(c *classify.Result) Label {
	l := Label{
		App: c.App, Detail: c.Detail, Why: c.Why,
		TLS:           c.TLS.Seen,
		PseudoTLS:     c.TLS.PseudoTLS || c.STUN.PseudoTLS,
		ClientHello:   c.TLS.ClientHello,
		ServerHello:   c.TLS.ServerHello,
		HandshakeSeen: c.TLS.ServerHello && (c.TLS.ServerDone || c.TLS.CertRequest || c.TLS.ClientCCS || c.TLS.ServerCCS),
		CertRequest:   c.TLS.CertRequest,
		Mutual:        c.TLS.Mutual,
		SNI:           string(c.TLS.SNI()),
	}
	add := func(k, v string) {
		if v != "" {
			l.Details = append(l.Details, Detail{k, v})
		}
	}
	if c.TLS.Seen {
		add("tls_version", c.TLS.VersionName())
		add("sni", l.SNI)
		var alpn []string
		c.TLS.ALPN(func(p []byte) { alpn = append(alpn, string(p)) })
		add("alpn", strings.Join(alpn, ","))
		add("cert_cn", c.TLS.CertCN)
		add("cert_sans", strings.Join(c.TLS.CertSANs, ","))
		if c.TLS.CertRequest {
			add("mutual_tls", strconv.FormatBool(c.TLS.Mutual))
		}
	}
	switch c.App {
	case classify.SIP:
		if c.SIP.Request {
			add("sip_method", c.SIP.Method.String())
		} else if c.SIP.Status != 0 {
			add("sip_status", strconv.Itoa(c.SIP.Status))
		}
		add("sip_from", string(c.SIP.FromDomain()))
		add("sip_to", string(c.SIP.ToDomain()))
	case classify.XMPP:
		to, from := c.XMPP.C2S.To(), c.XMPP.C2S.From()
		if len(to) == 0 {
			to = c.XMPP.S2C.To()
		}
		if len(from) == 0 {
			from = c.XMPP.S2C.From()
		}
		add("xmpp_to", string(to))
		add("xmpp_from", string(from))
		if c.XMPP.C2S.StartTLS || c.XMPP.S2C.Proceed {
			add("starttls", "true")
		}
	case classify.HTTP:
		add("http_method", c.HTTP.MethodName())
		add("http_host", string(c.HTTP.Host()))
		add("http_path", string(c.HTTP.Path()))
	case classify.DNS:
		add("dns_qname", string(c.QName()))
	case classify.STUN:
		add("stun_variant", c.STUN.Variant.String())
		if c.STUN.Framing != classify.FramingNone {
			add("stun_framing", c.STUN.Framing.String())
		}
	case classify.RTP:
		if c.RTP.RTP {
			add("rtp_pt", strconv.Itoa(int(c.RTP.PT)))
		}
	}
	return l
}
