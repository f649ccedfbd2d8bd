package main

// Cleartext application payloads: SIP (for the cleartext one-way case),
// XMPP server-to-server stream set-up up to STARTTLS, DNS over UDP and TCP,
// and the HTTP CRL download the Access Edge makes on port 80.

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
)

// sipRequest is a Lync-style SIP request with a correct Content-Length.
func sipRequest(rng *rand.Rand, method, from, to, via string, cseq int, body string) []byte {
	callID := hexString(randBytes(rng, 16))
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s SIP/2.0\r\n", method, to)
	fmt.Fprintf(&b, "Via: SIP/2.0/TCP %s;branch=z9hG4bK%s\r\n", via, hexString(randBytes(rng, 6)))
	fmt.Fprintf(&b, "Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s>;tag=%s;epid=%s\r\n", from, hexString(randBytes(rng, 5)), hexString(randBytes(rng, 5)))
	fmt.Fprintf(&b, "To: <sip:%s>\r\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", callID)
	fmt.Fprintf(&b, "CSeq: %d %s\r\n", cseq, method)
	fmt.Fprintf(&b, "User-Agent: UCCAPI/15.0.4849.1000 OC/15.0.4849.1000 (Microsoft Lync)\r\n")
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/msrtc-event-categories+xml\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

// XMPP server-to-server stream set-up (RFC 6120 with dialback namespace).
func xmppStreamOpen(from, to string) []byte {
	return []byte("<?xml version='1.0'?><stream:stream xmlns='jabber:server' " +
		"xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' " +
		"to='" + to + "' from='" + from + "' version='1.0'>")
}

func xmppStreamReply(from, to, id string) []byte {
	return []byte("<?xml version='1.0'?><stream:stream xmlns='jabber:server' " +
		"xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' " +
		"from='" + from + "' to='" + to + "' id='" + id + "' version='1.0'>" +
		"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" +
		"<dialback xmlns='urn:xmpp:features:dialback'/></stream:features>")
}

var (
	xmppStartTLS = []byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	xmppProceed  = []byte("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
)

// dnsQuery is a recursive query for name (type A or SRV).
func dnsQuery(id uint16, name string, qtype uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	b = append(b, dnsName(name)...)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

func dnsName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// dnsAnswer answers q with one A record (compressed name pointer).
func dnsAnswer(q []byte, a [4]byte) []byte {
	b := append([]byte{}, q...)
	b[2], b[3] = 0x81, 0x80
	b[7] = 1
	b = append(b, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4)
	return append(b, a[:]...)
}

// dnsTCP prefixes a DNS message with its 2-byte length (RFC 1035 4.2.2).
func dnsTCP(m []byte) []byte { return rfc4571(m) }

func httpCRLGet(host, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nCache-Control: max-age = 3600\r\nConnection: Keep-Alive\r\n" +
		"Accept: */*\r\nUser-Agent: Microsoft-CryptoAPI/6.3\r\nHost: " + host + "\r\n\r\n")
}

// httpCRLResponse is a 200 carrying the CA's DER CRL.
func httpCRLResponse() []byte {
	body := crlDER
	n := len(body)
	h := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nLast-Modified: Mon, 09 Mar 2026 06:00:00 GMT\r\n"+
		"Accept-Ranges: bytes\r\nServer: Microsoft-IIS/8.5\r\nDate: Tue, 10 Mar 2026 09:15:02 GMT\r\nContent-Length: %d\r\n\r\n", n)
	return append([]byte(h), body...)
}

func httpGet(host, path, ua string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: " + ua + "\r\nAccept: */*\r\n\r\n")
}

func httpResponse(body string) []byte {
	return []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}

// sshBanners are the identification strings of an SSH exchange.
var (
	sshServerBanner = []byte("SSH-2.0-OpenSSH_for_Windows_8.1\r\n")
	sshClientBanner = []byte("SSH-2.0-libssh2_1.10.0\r\n")
)
