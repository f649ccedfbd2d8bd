// Package classify recognises the application protocol of a flow from its
// payload bytes: STUN/MS-TURN, TLS (and the SIP/PSOM/CLS/XMPP services
// carried in it), SIP, XMPP, RTP/RTCP, DNS and HTTP. Parsers fill
// caller-provided structs and do not allocate on their hot paths.
package classify

// App is the protocol family of a flow, as named in the report's "app".
type App uint8

// Protocol families; String gives the CONTRACT's names.
const (
	Unknown App = iota
	SIP
	PSOM
	STUN
	XMPP
	CLS
	RTP
	DNS
	HTTP
	TLS
)

var appNames = [...]string{"unknown", "sip", "psom", "stun", "xmpp", "cls", "rtp", "dns", "http", "tls"}

// String returns the contract name ("sip", "stun", ...); out-of-range values are "unknown".
func (a App) String() string {
	if int(a) < len(appNames) {
		return appNames[a]
	}
	return "unknown"
}

// ParseApp maps a contract name back to an App; unknown names give (Unknown, false).
func ParseApp(s string) (App, bool) {
	for i, n := range appNames {
		if n == s {
			return App(i), true
		}
	}
	return Unknown, false
}
