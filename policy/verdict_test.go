package policy

import (
	"strings"
	"testing"
)

// want is the expected verdict: the allowing rule, or the finding's kind
// (and the rule the finding cites, when it cites one).
type want struct {
	rule    string
	kind    Kind
	finRule string
	sev     *Severity
	app     string
	inside  bool
	option  string
}

func sevp(s Severity) *Severity { return &s }

const (
	cli    = "203.0.113.5:51234"
	cli2   = "192.0.2.7:40000"
	peer   = "192.0.2.60"
	acc1   = "198.51.100.11"
	web1   = "198.51.100.12"
	av1    = "198.51.100.13"
	av2    = "198.51.100.23"
	int1   = "172.16.0.11"
	accVIP = "198.51.100.100"
	webVIP = "198.51.100.101"
	avVIP  = "198.51.100.102"
	intVIP = "172.16.0.100"
	hlbExt = "198.51.100.250"
	hlbInt = "172.16.0.250"
	fe     = "172.16.1.10"
	dir    = "172.16.2.5"
	sba    = "172.16.3.5"
	lanCli = "10.1.1.1"
	partnr = "192.0.2.40"
)

type vcase struct {
	name string
	f    FlowFacts
	want want
}

// ruleCases: for every one of the 33 rules, a flow it allows and near misses
// (wrong direction, port, role, protocol) on the two-node example pool with
// both options on.
var ruleCases = []vcase{
	// EXT-N-01 access → any tcp/80 http
	{"EXT-N-01 allow", fl("tcp", acc1+":50123", "203.0.113.80:80", "http"), want{rule: "EXT-N-01", app: "http"}},
	{"EXT-N-01 reversed", fl("tcp", "203.0.113.80:51000", acc1+":80", "http"), want{kind: KindUnexpectedPort}},
	{"EXT-N-01 wrong role av", fl("tcp", av1+":40000", "203.0.113.80:80", "http"), want{kind: KindUnexpectedPort}},
	{"EXT-N-01 wrong port", fl("tcp", acc1+":50123", "203.0.113.80:8080", "http"), want{kind: KindUnexpectedPort}},
	{"EXT-N-01 wrong protocol", fl("tcp", acc1+":50123", "203.0.113.80:80", "tls", tls), want{kind: KindProtocolMismatch, finRule: "EXT-N-01", sev: sevp(Error)}},
	// EXT-N-02 access → any tcp/53
	{"EXT-N-02 allow", fl("tcp", acc1+":50124", "192.0.2.53:53", "dns"), want{rule: "EXT-N-02"}},
	{"EXT-N-02 wrong role webconf", fl("tcp", web1+":50124", "192.0.2.53:53", "dns"), want{kind: KindUnexpectedPort}},
	{"EXT-N-02 wrong protocol", fl("tcp", acc1+":50124", "192.0.2.53:53", "http"), want{kind: KindProtocolMismatch, finRule: "EXT-N-02"}},
	// EXT-N-03 access → any udp/53
	{"EXT-N-03 allow", fl("udp", acc1+":53001", "192.0.2.53:53", "dns"), want{rule: "EXT-N-03"}},
	{"EXT-N-03 reversed", fl("udp", "192.0.2.53:40000", acc1+":53", "dns"), want{kind: KindUnexpectedPort}},
	{"EXT-N-03 wrong port", fl("udp", acc1+":53001", "192.0.2.53:5353", "dns"), want{kind: KindUnexpectedPort}},
	// EXT-N-04 av:50000-59999 → any tcp (port on the Edge side)
	{"EXT-N-04 allow", fl("tcp", av1+":50010", peer+":8000", "rtp"), want{rule: "EXT-N-04"}},
	{"EXT-N-04 port outside range", fl("tcp", av1+":40000", peer+":8000", "rtp"), want{kind: KindUnexpectedPort}},
	{"EXT-N-04 wrong role", fl("tcp", acc1+":50010", peer+":8000", "rtp"), want{kind: KindUnexpectedPort}},
	{"EXT-N-04 wrong protocol", fl("tcp", av1+":50010", peer+":8000", "http"), want{kind: KindProtocolMismatch, finRule: "EXT-N-04"}},
	// EXT-N-05 av:5xxxx → any udp (OCS 2007)
	{"EXT-N-05 allow", fl("udp", av1+":50010", peer+":7000", "rtp"), want{rule: "EXT-N-05"}},
	{"EXT-N-05 wrong role", fl("udp", web1+":50010", peer+":7000", "rtp"), want{kind: KindUnexpectedPort}},
	{"EXT-N-05 wrong protocol", fl("udp", av1+":50010", peer+":7000", "dns"), want{kind: KindProtocolMismatch, finRule: "EXT-N-05"}},
	// EXT-N-06 any → av:5xxxx tcp (OCS 2007)
	{"EXT-N-06 allow", fl("tcp", peer+":40000", av1+":50020", "rtp"), want{rule: "EXT-N-06"}},
	{"EXT-N-06 wrong role", fl("tcp", peer+":40000", acc1+":50020", "rtp"), want{kind: KindUnexpectedPort}},
	{"EXT-N-06 to the VIP", fl("tcp", peer+":40000", avVIP+":50020", "rtp"), want{kind: KindUnexpectedPort}},
	// EXT-N-07 any → av:5xxxx udp (OCS 2007)
	{"EXT-N-07 allow", fl("udp", peer+":40000", av2+":50020", "rtp"), want{rule: "EXT-N-07"}},
	{"EXT-N-07 wrong port", fl("udp", peer+":40000", av2+":60000", "rtp"), want{kind: KindUnexpectedPort}},
	{"EXT-N-07 wrong protocol", fl("udp", peer+":40000", av2+":50020", "sip"), want{kind: KindProtocolMismatch, finRule: "EXT-N-07"}},
	// EXT-N-08 av → any udp/3478
	{"EXT-N-08 allow from relay port", fl("udp", av1+":50030", peer+":3478", "stun"), want{rule: "EXT-N-08"}},
	{"EXT-N-08 wrong role", fl("udp", acc1+":50030", peer+":3478", "stun"), want{kind: KindUnexpectedPort}},
	{"EXT-N-08 wrong protocol", fl("udp", av1+":50030", peer+":3478", "dns"), want{kind: KindProtocolMismatch, finRule: "EXT-N-08"}},
	// EXT-N-09 any → av udp/3478
	{"EXT-N-09 allow", fl("udp", cli, av1+":3478", "stun"), want{rule: "EXT-N-09"}},
	{"EXT-N-09 raw rtp after set active destination", fl("udp", cli, av1+":3478", "rtp"), want{rule: "EXT-N-09"}},
	{"EXT-N-09 wrong transport", fl("tcp", cli, av1+":3478", "stun"), want{kind: KindUnexpectedPort}},
	{"EXT-N-09 wrong protocol", fl("udp", cli, av1+":3478", "sip"), want{kind: KindProtocolMismatch, finRule: "EXT-N-09", sev: sevp(Error)}},
	{"EXT-N-09 reversed", fl("udp", av1+":3478", cli, "stun"), want{kind: KindUnexpectedPort}},
	// EXT-N-10 any → av tcp/443 (MS-TURN in pseudo-TLS)
	{"EXT-N-10 allow pseudo-TLS", fl("tcp", cli, av1+":443", "tls", pseudo), want{rule: "EXT-N-10", app: "stun"}},
	{"EXT-N-10 real TLS", fl("tcp", cli, av1+":443", "tls", tls), want{kind: KindProtocolMismatch, finRule: "EXT-N-10", sev: sevp(Error)}},
	{"EXT-N-10 wrong port", fl("tcp", cli, av1+":444", "stun"), want{kind: KindUnexpectedPort}},
	// EXT-N-11 av → any tcp/443
	{"EXT-N-11 allow (single port beats the relay range rule)", fl("tcp", av1+":50040", peer+":443", "stun", pseudo), want{rule: "EXT-N-11"}},
	{"EXT-N-11 wrong role", fl("tcp", web1+":50040", peer+":443", "stun"), want{kind: KindUnexpectedPort}},
	{"EXT-N-11 wrong protocol", fl("tcp", av1+":50040", peer+":443", "http"), want{kind: KindProtocolMismatch, finRule: "EXT-N-11"}},

	// INT-N-01 front-end → edge-internal tcp/23456 XMPP over MTLS
	{"INT-N-01 allow", fl("tcp", fe+":50000", int1+":23456", "tls", mtls), want{rule: "INT-N-01", app: "xmpp"}},
	{"INT-N-01 to the internal VIP", fl("tcp", fe+":50000", intVIP+":23456", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-N-01 wrong role", fl("tcp", lanCli+":50000", int1+":23456", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-N-01 no client certificate", fl("tcp", fe+":50000", int1+":23456", "tls", tls), want{kind: KindProtocolMismatch, finRule: "INT-N-01", sev: sevp(Error)}},
	// INT-N-02 front-end → edge-internal tcp/4443 HTTPS
	{"INT-N-02 allow", fl("tcp", fe+":50001", int1+":4443", "tls", tls), want{rule: "INT-N-02", app: "tls"}},
	{"INT-N-02 wrong role", fl("tcp", dir+":50001", int1+":4443", "tls", tls), want{kind: KindUnexpectedPort}},
	{"INT-N-02 cleartext http", fl("tcp", fe+":50001", int1+":4443", "http"), want{kind: KindProtocolMismatch, finRule: "INT-N-02"}},
	// INT-N-03 director/front-end → edge-internal tcp/8057 PSOM over MTLS
	{"INT-N-03 allow", fl("tcp", dir+":50002", int1+":8057", "tls", mtls), want{rule: "INT-N-03", app: "psom"}},
	{"INT-N-03 to the internal VIP", fl("tcp", dir+":50002", intVIP+":8057", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-N-03 wrong role", fl("tcp", sba+":50002", int1+":8057", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-N-03 no client certificate", fl("tcp", fe+":50002", int1+":8057", "tls", tls), want{kind: KindProtocolMismatch, finRule: "INT-N-03"}},
	// INT-N-04 director/front-end/sba → edge-internal udp/3478
	{"INT-N-04 allow", fl("udp", sba+":50003", int1+":3478", "stun"), want{rule: "INT-N-04"}},
	{"INT-N-04 other source falls to INT-V-04 inside leg", fl("udp", lanCli+":50003", int1+":3478", "stun"), want{rule: "INT-V-04", inside: true}},
	{"INT-N-04 wrong protocol", fl("udp", fe+":50003", int1+":3478", "dns"), want{kind: KindProtocolMismatch, finRule: "INT-N-04"}},
	{"INT-N-04 reversed", fl("udp", int1+":3478", fe+":50003", "stun"), want{kind: KindUnexpectedPort}},
	// INT-N-05 director/front-end/sba → edge-internal tcp/443
	{"INT-N-05 allow", fl("tcp", fe+":50004", int1+":443", "tls", pseudo), want{rule: "INT-N-05", app: "stun"}},
	{"INT-N-05 wrong protocol", fl("tcp", fe+":50004", int1+":443", "http"), want{kind: KindProtocolMismatch, finRule: "INT-N-05"}},
	{"INT-N-05 wrong port", fl("tcp", fe+":50004", int1+":8443", "stun"), want{kind: KindUnexpectedPort}},
	// INT-N-06..08 any → edge-internal tcp/50001-50003 CLS over MTLS
	{"INT-N-06 allow", fl("tcp", lanCli+":40001", int1+":50001", "tls", mtls), want{rule: "INT-N-06", app: "cls"}},
	{"INT-N-06 to the internal VIP", fl("tcp", lanCli+":40001", intVIP+":50001", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-N-06 no client certificate", fl("tcp", lanCli+":40001", int1+":50001", "tls", tls), want{kind: KindProtocolMismatch, finRule: "INT-N-06"}},
	{"INT-N-07 allow", fl("tcp", fe+":40002", int1+":50002", "tls", mtls), want{rule: "INT-N-07", app: "cls"}},
	{"INT-N-07 udp", fl("udp", fe+":40002", int1+":50002", "unknown"), want{kind: KindUnexpectedPort}},
	{"INT-N-08 allow", fl("tcp", fe+":40003", int1+":50003", "cls", mtls), want{rule: "INT-N-08", app: "cls"}},
	{"INT-N-08 wrong port", fl("tcp", fe+":40003", int1+":50004", "cls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-N-08 wrong protocol", fl("tcp", fe+":40003", int1+":50003", "stun"), want{kind: KindProtocolMismatch, finRule: "INT-N-08"}},

	// EXT-V-01 any → access-vip tcp/5269 XMPP
	{"EXT-V-01 allow", fl("tcp", cli2, accVIP+":5269", "xmpp"), want{rule: "EXT-V-01", app: "xmpp"}},
	{"EXT-V-01 inside leg from the HLB", fl("tcp", hlbExt+":40000", acc1+":5269", "xmpp"), want{rule: "EXT-V-01", inside: true}},
	{"EXT-V-01 wrong VIP", fl("tcp", cli2, webVIP+":5269", "xmpp"), want{kind: KindUnexpectedPort}},
	{"EXT-V-01 bypass to the real address", fl("tcp", cli2, acc1+":5269", "xmpp"), want{kind: KindUnexpectedPort, finRule: "EXT-V-01"}},
	{"EXT-V-01 wrong protocol", fl("tcp", cli2, accVIP+":5269", "http"), want{kind: KindProtocolMismatch, finRule: "EXT-V-01"}},
	// EXT-V-02 access-vip → any tcp/5269
	{"EXT-V-02 allow", fl("tcp", accVIP+":40000", peer+":5269", "xmpp"), want{rule: "EXT-V-02"}},
	{"EXT-V-02 inside leg from the node", fl("tcp", acc1+":40000", peer+":5269", "xmpp"), want{rule: "EXT-V-02", inside: true}},
	{"EXT-V-02 wrong role", fl("tcp", web1+":40000", peer+":5269", "xmpp"), want{kind: KindUnexpectedPort}},
	{"EXT-V-02 cleartext sip", fl("tcp", accVIP+":40000", peer+":5269", "sip"), want{kind: KindProtocolMismatch, finRule: "EXT-V-02"}},
	// EXT-V-03 any → access-vip tcp/443 SIP over TLS
	{"EXT-V-03 allow", fl("tcp", cli, accVIP+":443", "tls", tls, sni("sip.contoso.com")), want{rule: "EXT-V-03", app: "sip"}},
	{"EXT-V-03 inside leg from the SNAT address", fl("tcp", hlbExt+":40000", acc1+":443", "tls", tls), want{rule: "EXT-V-03", inside: true, app: "sip"}},
	{"EXT-V-03 inside leg via HLB MAC (no SNAT)", fl("tcp", cli, acc1+":443", "tls", tls, viaHLB), want{rule: "EXT-V-03", inside: true}},
	{"EXT-V-03 bypass to the real address", fl("tcp", cli, acc1+":443", "tls", tls), want{kind: KindUnexpectedPort, finRule: "EXT-V-03", sev: sevp(Warning)}},
	{"EXT-V-03 pseudo-TLS MS-TURN", fl("tcp", cli, accVIP+":443", "tls", pseudo), want{kind: KindProtocolMismatch, finRule: "EXT-V-03", sev: sevp(Error)}},
	{"EXT-V-03 http", fl("tcp", cli, accVIP+":443", "http"), want{kind: KindProtocolMismatch, finRule: "EXT-V-03", sev: sevp(Error)}},
	{"EXT-V-03 cleartext sip", fl("tcp", cli, accVIP+":443", "sip"), want{kind: KindProtocolMismatch, finRule: "EXT-V-03"}},
	{"EXT-V-03 web conferencing name", fl("tcp", cli, accVIP+":443", "tls", tls, sni("webcon.contoso.com")), want{kind: KindProtocolMismatch, finRule: "EXT-V-03", sev: sevp(Warning)}},
	{"EXT-V-03 reversed", fl("tcp", accVIP+":443", cli, "tls", tls), want{kind: KindUnexpectedPort}},
	// EXT-V-04 any → access-vip tcp/5061 SIP over MTLS
	{"EXT-V-04 allow", fl("tcp", cli2, accVIP+":5061", "tls", mtls), want{rule: "EXT-V-04", app: "sip"}},
	{"EXT-V-04 inside leg", fl("tcp", hlbExt+":40001", acc1+":5061", "tls", mtls), want{rule: "EXT-V-04", inside: true}},
	{"EXT-V-04 no client certificate", fl("tcp", cli2, accVIP+":5061", "tls", tls), want{kind: KindProtocolMismatch, finRule: "EXT-V-04", sev: sevp(Error)}},
	{"EXT-V-04 wrong VIP", fl("tcp", cli2, webVIP+":5061", "tls", mtls), want{kind: KindUnexpectedPort}},
	// EXT-V-05 access-vip → federation-partner tcp/5061
	{"EXT-V-05 allow", fl("tcp", accVIP+":40002", partnr+":5061", "tls", mtls), want{rule: "EXT-V-05", app: "sip"}},
	{"EXT-V-05 inside leg from the node", fl("tcp", acc1+":40002", partnr+":5061", "tls", mtls), want{rule: "EXT-V-05", inside: true}},
	{"EXT-V-05 not a listed partner", fl("tcp", accVIP+":40002", "203.0.113.9:5061", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"EXT-V-05 wrong role", fl("tcp", av1+":40002", partnr+":5061", "tls", mtls), want{kind: KindUnexpectedPort}},
	// EXT-V-06 any → webconf-vip tcp/443 PSOM over TLS
	{"EXT-V-06 allow", fl("tcp", cli, webVIP+":443", "tls", tls), want{rule: "EXT-V-06", app: "psom"}},
	{"EXT-V-06 inside leg", fl("tcp", hlbExt+":40003", web1+":443", "tls", tls), want{rule: "EXT-V-06", inside: true, app: "psom"}},
	{"EXT-V-06 pseudo-TLS MS-TURN", fl("tcp", cli, webVIP+":443", "stun", pseudo), want{kind: KindProtocolMismatch, finRule: "EXT-V-06"}},
	{"EXT-V-06 sip name", fl("tcp", cli, webVIP+":443", "tls", tls, sni("sip.contoso.com")), want{kind: KindProtocolMismatch, finRule: "EXT-V-06"}},
	{"EXT-V-06 wrong port", fl("tcp", cli, webVIP+":8443", "tls", tls), want{kind: KindUnexpectedPort}},
	// EXT-V-07 any → av-vip udp/3478
	{"EXT-V-07 allow", fl("udp", cli, avVIP+":3478", "stun"), want{rule: "EXT-V-07"}},
	{"EXT-V-07 inside leg via HLB MAC", fl("udp", cli, av1+":3478", "stun", viaHLB), want{rule: "EXT-V-07", inside: true}},
	{"EXT-V-07 inside leg from an HLB address (SNAT on A/V is the snat-av detector's)", fl("udp", hlbExt+":40000", av1+":3478", "stun"), want{rule: "EXT-V-07", inside: true}},
	{"EXT-V-07 wrong port", fl("udp", cli, avVIP+":3479", "stun"), want{kind: KindUnexpectedPort}},
	{"EXT-V-07 wrong transport", fl("tcp", cli, avVIP+":3478", "stun"), want{kind: KindUnexpectedPort}},
	{"EXT-V-07 wrong protocol", fl("udp", cli, avVIP+":3478", "dns"), want{kind: KindProtocolMismatch, finRule: "EXT-V-07"}},
	{"EXT-V-07 relay range on the VIP", fl("udp", cli, avVIP+":50000", "rtp"), want{kind: KindUnexpectedPort}},
	// EXT-V-08 any → av-vip tcp/443
	{"EXT-V-08 allow", fl("tcp", cli, avVIP+":443", "tls", pseudo), want{rule: "EXT-V-08", app: "stun"}},
	{"EXT-V-08 real TLS on the A/V VIP", fl("tcp", cli, avVIP+":443", "tls", tls, sni("sip.contoso.com")), want{kind: KindProtocolMismatch, finRule: "EXT-V-08", sev: sevp(Error)}},
	{"EXT-V-08 http", fl("tcp", cli, avVIP+":443", "http"), want{kind: KindProtocolMismatch, finRule: "EXT-V-08"}},
	{"EXT-V-08 reversed", fl("tcp", avVIP+":443", cli, "stun"), want{kind: KindUnexpectedPort}},

	// INT-V-01 director/front-end → internal-vip tcp/5061
	{"INT-V-01 allow", fl("tcp", fe+":40010", intVIP+":5061", "tls", mtls), want{rule: "INT-V-01", app: "sip"}},
	{"INT-V-01 inside leg from the HLB", fl("tcp", hlbInt+":40010", int1+":5061", "tls", mtls), want{rule: "INT-V-01", inside: true}},
	{"INT-V-01 front end straight to the node", fl("tcp", dir+":40010", int1+":5061", "tls", mtls), want{rule: "INT-V-01", inside: true}},
	{"INT-V-01 wrong role", fl("tcp", lanCli+":40010", intVIP+":5061", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-V-01 no client certificate", fl("tcp", fe+":40010", intVIP+":5061", "tls", tls), want{kind: KindProtocolMismatch, finRule: "INT-V-01"}},
	// INT-V-02 internal-vip (edge-internal) → director/front-end tcp/5061
	{"INT-V-02 allow", fl("tcp", intVIP+":40011", fe+":5061", "tls", mtls), want{rule: "INT-V-02"}},
	{"INT-V-02 from the node", fl("tcp", int1+":40011", fe+":5061", "tls", mtls), want{rule: "INT-V-02", inside: true}},
	{"INT-V-02 wrong role", fl("tcp", int1+":40011", lanCli+":5061", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-V-02 wrong port", fl("tcp", int1+":40011", fe+":5060", "sip"), want{kind: KindUnexpectedPort}},
	// INT-V-03 front-end/sba → internal-vip tcp/5062
	{"INT-V-03 allow", fl("tcp", sba+":40012", intVIP+":5062", "tls", mtls), want{rule: "INT-V-03", app: "sip"}},
	{"INT-V-03 inside leg", fl("tcp", hlbInt+":40012", int1+":5062", "tls", mtls), want{rule: "INT-V-03", inside: true}},
	{"INT-V-03 wrong role", fl("tcp", dir+":40012", intVIP+":5062", "tls", mtls), want{kind: KindUnexpectedPort}},
	{"INT-V-03 no client certificate", fl("tcp", fe+":40012", intVIP+":5062", "tls", tls), want{kind: KindProtocolMismatch, finRule: "INT-V-03"}},
	// INT-V-04 any → internal-vip udp/3478
	{"INT-V-04 allow", fl("udp", lanCli+":40013", intVIP+":3478", "stun"), want{rule: "INT-V-04"}},
	{"INT-V-04 wrong transport", fl("tcp", lanCli+":40013", intVIP+":3478", "stun"), want{kind: KindUnexpectedPort}},
	{"INT-V-04 wrong protocol", fl("udp", lanCli+":40013", intVIP+":3478", "http"), want{kind: KindProtocolMismatch, finRule: "INT-V-04"}},
	// INT-V-05 any → internal-vip tcp/443
	{"INT-V-05 allow", fl("tcp", lanCli+":40014", intVIP+":443", "stun", pseudo), want{rule: "INT-V-05"}},
	{"INT-V-05 real TLS", fl("tcp", lanCli+":40014", intVIP+":443", "tls", tls), want{kind: KindProtocolMismatch, finRule: "INT-V-05"}},
	{"INT-V-05 inside leg", fl("tcp", hlbInt+":40014", int1+":443", "stun", pseudo), want{rule: "INT-V-05", inside: true}},
	// INT-V-06 internal-vip → any tcp/443
	{"INT-V-06 allow", fl("tcp", intVIP+":40015", lanCli+":443", "stun"), want{rule: "INT-V-06"}},
	{"INT-V-06 from the node", fl("tcp", int1+":40015", lanCli+":443", "stun"), want{rule: "INT-V-06", inside: true}},
	{"INT-V-06 wrong port", fl("tcp", intVIP+":40015", lanCli+":8443", "stun"), want{kind: KindUnexpectedPort}},
	{"INT-V-06 wrong protocol", fl("tcp", int1+":40015", lanCli+":443", "http"), want{kind: KindProtocolMismatch, finRule: "INT-V-06"}},
}

func checkVerdict(t *testing.T, name string, e *Engine, f FlowFacts, w want) Verdict {
	t.Helper()
	v := e.Verdict(&f)
	if v.Rule != w.rule {
		t.Errorf("%s: rule = %q, want %q (finding: %+v)", name, v.Rule, w.rule, v.Finding)
	}
	if w.kind == "" {
		if v.Finding != nil {
			t.Errorf("%s: unexpected finding %s: %s", name, v.Finding.Kind, v.Finding.Message)
		}
	} else {
		if v.Finding == nil {
			t.Errorf("%s: no finding, want %s", name, w.kind)
			return v
		}
		if v.Finding.Kind != w.kind {
			t.Errorf("%s: kind = %s, want %s (%s)", name, v.Finding.Kind, w.kind, v.Finding.Message)
		}
		if v.Finding.Rule != w.finRule {
			t.Errorf("%s: finding rule = %q, want %q", name, v.Finding.Rule, w.finRule)
		}
		if w.sev != nil && v.Finding.Severity != *w.sev {
			t.Errorf("%s: severity = %s, want %s", name, v.Finding.Severity, *w.sev)
		}
		fd := v.Finding
		if fd.Requirement == "" || fd.Message == "" || fd.Consequence == "" || fd.Fix == "" || fd.Filter == "" || fd.Count != 1 {
			t.Errorf("%s: incomplete finding %+v", name, fd)
		}
		if !strings.Contains(fd.Message, f.Client.Addr().String()) || !strings.Contains(fd.Message, f.Server.Addr().String()) {
			t.Errorf("%s: message does not name both endpoints: %s", name, fd.Message)
		}
	}
	if w.app != "" && v.App != w.app {
		t.Errorf("%s: app = %q, want %q", name, v.App, w.app)
	}
	if v.Inside != w.inside {
		t.Errorf("%s: inside = %v, want %v", name, v.Inside, w.inside)
	}
	if v.Option != w.option {
		t.Errorf("%s: option = %q, want %q", name, v.Option, w.option)
	}
	return v
}

func TestVerdictRules(t *testing.T) {
	e := NewEngine(nil, loadPool(t, nil))
	allowed := map[string]bool{}
	for _, c := range ruleCases {
		checkVerdict(t, c.name, e, c.f, c.want)
		if c.want.rule != "" && c.want.kind == "" && strings.HasPrefix(c.name, c.want.rule) {
			allowed[c.want.rule] = true
		}
	}
	for _, r := range DefaultRules().Rules {
		if !allowed[r.ID] {
			t.Errorf("rule %s has no test flow that it allows", r.ID)
		}
	}
	if len(allowed) != 33 {
		t.Errorf("%d rules covered, want 33", len(allowed))
	}
}

func TestVerdictOptions(t *testing.T) {
	off := NewEngine(nil, loadPool(t, func(tp *Topology) { tp.Options = Options{} }))
	cases := []vcase{
		{"xmpp off: inbound 5269", fl("tcp", cli2, accVIP+":5269", "xmpp"), want{kind: KindUnexpectedPort, finRule: "EXT-V-01", option: OptionXMPP}},
		{"xmpp off: outbound 5269", fl("tcp", accVIP+":40000", peer+":5269", "xmpp"), want{kind: KindUnexpectedPort, finRule: "EXT-V-02", option: OptionXMPP}},
		{"xmpp off: gateway 23456", fl("tcp", fe+":50000", int1+":23456", "tls", mtls), want{kind: KindUnexpectedPort, finRule: "INT-N-01", option: OptionXMPP}},
		{"ocs2007 off: inbound udp relay", fl("udp", peer+":40000", av1+":50020", "rtp"), want{kind: KindUnexpectedPort, finRule: "EXT-N-07", option: OptionFederationOCS2007}},
		{"ocs2007 off: inbound tcp relay", fl("tcp", peer+":40000", av1+":50020", "rtp"), want{kind: KindUnexpectedPort, finRule: "EXT-N-06", option: OptionFederationOCS2007}},
		{"ocs2007 off: outbound udp relay", fl("udp", av1+":50010", peer+":7000", "rtp"), want{kind: KindUnexpectedPort, finRule: "EXT-N-05", option: OptionFederationOCS2007}},
		{"ocs2007 off: outbound tcp relay still on", fl("tcp", av1+":50010", peer+":8000", "rtp"), want{rule: "EXT-N-04"}},
		{"ocs2007 off: relay port to 3478 is EXT-N-08", fl("udp", av1+":50030", peer+":3478", "stun"), want{rule: "EXT-N-08"}},
	}
	for _, c := range cases {
		v := checkVerdict(t, c.name, off, c.f, c.want)
		if v.Finding != nil {
			wantReq := "GEN-01"
			if c.want.option == OptionXMPP {
				wantReq = "GEN-04"
			}
			if v.Finding.Requirement != wantReq {
				t.Errorf("%s: requirement %s, want %s", c.name, v.Finding.Requirement, wantReq)
			}
		}
	}
}

func TestVerdictGeneral(t *testing.T) {
	e := NewEngine(nil, loadPool(t, nil))
	// Traffic between two addresses without an Edge role is not judged.
	v := e.Verdict(ptr(fl("tcp", cli, "192.0.2.99:22", "unknown")))
	if v.Rule != "" || v.Finding != nil || v.ClientRole != RoleAny || v.ServerRole != RoleAny {
		t.Errorf("any↔any judged: %+v", v)
	}
	v = e.Verdict(ptr(fl("tcp", fe+":1000", dir+":22", "unknown")))
	if v.Finding != nil {
		t.Errorf("internal↔internal judged: %+v", v.Finding)
	}
	// The brief's example: an answered ssh to an Edge address.
	v = e.Verdict(ptr(fl("tcp", cli, acc1+":22", "unknown")))
	if v.Finding == nil || v.Finding.Severity != Warning || v.Finding.Requirement != "GEN-01" {
		t.Fatalf("ssh to access: %+v", v.Finding)
	}
	if got, w := v.Finding.Filter, "ip.addr==198.51.100.11 && tcp.port==22 && ip.addr==203.0.113.5 && tcp.port==51234"; got != w {
		t.Errorf("filter %q, want %q", got, w)
	}
	if v.ServerRole != RoleAccess || v.ClientRole != RoleAny {
		t.Errorf("roles %s, %s", v.ClientRole, v.ServerRole)
	}
	// Unanswered: the port is closed; information only.
	v = e.Verdict(ptr(fl("tcp", cli, acc1+":22", "unknown", unanswered)))
	if v.Finding == nil || v.Finding.Severity != Info {
		t.Errorf("unanswered ssh: %+v", v.Finding)
	}
	// Unknown payload: too little to judge, then enough.
	v = e.Verdict(ptr(fl("tcp", cli, accVIP+":443", "unknown", payload(10))))
	if v.Rule != "EXT-V-03" || v.Finding != nil {
		t.Errorf("short unknown: %+v %+v", v, v.Finding)
	}
	v = e.Verdict(ptr(fl("tcp", cli, accVIP+":443", "unknown", payload(4000))))
	if v.Rule != "" || v.Finding == nil || v.Finding.Rule != "EXT-V-03" || v.Finding.Kind != KindProtocolMismatch || v.Finding.Severity != Warning {
		t.Errorf("long unknown: %+v %+v", v, v.Finding)
	}
	// A handshake not seen: the mutual-TLS check is skipped.
	f := fl("tcp", cli2, accVIP+":5061", "tls", tls)
	f.HandshakeSeen = false
	if v := e.Verdict(&f); v.Finding != nil {
		t.Errorf("mid-stream 5061 judged: %+v", v.Finding)
	}
	// SNI is quoted and labelled as packet-derived.
	v = e.Verdict(ptr(fl("tcp", cli, avVIP+":443", "tls", tls, sni("evil\"name"))))
	if v.Finding == nil || !strings.Contains(v.Finding.Message, `"evil\"name", from the packets`) {
		t.Errorf("sni not quoted: %+v", v.Finding)
	}
	// ICMP and other protocols get roles but no verdict.
	f = fl("tcp", cli, acc1+":0", "unknown")
	f.Transport = 1
	if v := e.Verdict(&f); v.Finding != nil || v.ServerRole != RoleAccess {
		t.Errorf("icmp: %+v", v)
	}
	// Unlisted partners: EXT-V-05 accepts any unnamed address.
	open := NewEngine(nil, loadPool(t, func(tp *Topology) { tp.Federation.Partners = nil }))
	checkVerdict(t, "partners unknown", open, fl("tcp", accVIP+":40002", "203.0.113.9:5061", "tls", mtls), want{rule: "EXT-V-05", app: "sip"})
	checkVerdict(t, "partners unknown, internal dest", open, fl("tcp", accVIP+":40002", fe+":5061", "tls", mtls), want{kind: KindUnexpectedPort})
	// No topology: nothing has a role, nothing is judged.
	if v := NewEngine(nil, nil).Verdict(ptr(fl("tcp", cli, acc1+":22", "unknown"))); v.Finding != nil {
		t.Errorf("judged without roles: %+v", v.Finding)
	}
}

func TestVerdictIPv6(t *testing.T) {
	topo, err := ParseTopology([]byte(`version: 1
options: {xmpp: false, federation_ocs2007: false}
vips:
  access: [198.51.100.100, "2001:db8:100::100"]
  webconf: 198.51.100.101
  av: 198.51.100.102
  internal: 172.16.0.100
nodes:
  - {name: e1, access: [198.51.100.11, "2001:db8:100::11"], webconf: 198.51.100.12, av: 198.51.100.13, internal: 172.16.0.11}
hlb: {addresses: ["2001:db8:100::250", 198.51.100.250]}
`), "v6.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(nil, topo)
	checkVerdict(t, "v6 sip", e, fl("tcp", "[2001:db8:5::1]:50000", "[2001:db8:100::100]:443", "tls", tls), want{rule: "EXT-V-03", app: "sip"})
	checkVerdict(t, "v6 inside", e, fl("tcp", "[2001:db8:100::250]:50000", "[2001:db8:100::11]:443", "tls", tls), want{rule: "EXT-V-03", inside: true})
	v := checkVerdict(t, "v6 ssh", e, fl("tcp", "[2001:db8:5::1]:50000", "[2001:db8:100::11]:22", "unknown"), want{kind: KindUnexpectedPort})
	if w := "ipv6.addr==2001:db8:100::11 && tcp.port==22 && ipv6.addr==2001:db8:5::1 && tcp.port==50000"; v.Finding.Filter != w {
		t.Errorf("filter %q", v.Finding.Filter)
	}
	if !strings.Contains(v.Finding.Message, "[2001:db8:100::11]:22") {
		t.Errorf("message %q", v.Finding.Message)
	}
	// A 4-in-6 mapped address resolves as its IPv4 self.
	checkVerdict(t, "mapped", e, fl("tcp", "[::ffff:203.0.113.5]:50000", "[::ffff:198.51.100.100]:443", "tls", tls), want{rule: "EXT-V-03", app: "sip"})
}

func ptr[T any](v T) *T { return &v }

func BenchmarkVerdict(b *testing.B) {
	e := NewEngine(nil, loadPool(b, nil))
	fs := []FlowFacts{
		fl("tcp", cli, accVIP+":443", "tls", tls),
		fl("udp", cli, av1+":3478", "stun"),
		fl("tcp", cli, acc1+":22", "unknown"),
		fl("tcp", fe+":40000", int1+":8057", "tls", mtls),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = e.Verdict(&fs[i%len(fs)])
	}
}

// TestVerdictBrief: a brief verdict has everything that aggregates and
// ranks a finding, and once described equals the full verdict, for every
// rule case (allowed flows, unexpected ports, mismatches, bypasses).
func TestVerdictBrief(t *testing.T) {
	deferred := 0
	for _, e := range []*Engine{NewEngine(nil, loadPool(t, nil)), NewEngine(nil, loadPool(t, func(tp *Topology) { tp.Options = Options{} }))} {
		for _, c := range ruleCases {
			full := e.Verdict(&c.f)
			brief := e.VerdictBrief(&c.f)
			if (full.Finding == nil) != (brief.Finding == nil) {
				t.Fatalf("%s: finding %v brief, %v full", c.name, brief.Finding, full.Finding)
			}
			if full.Finding == nil {
				continue
			}
			b, f := *brief.Finding, *full.Finding
			if b.Kind != f.Kind || b.Severity != f.Severity || b.Requirement != f.Requirement || b.Rule != f.Rule || b.Subject != f.Subject {
				t.Errorf("%s: brief %+v\nfull %+v", c.name, b, f)
			}
			if b.Filter != "" {
				t.Errorf("%s: brief finding already has a filter", c.name)
			}
			if b.brief&briefText != 0 {
				deferred++
				if b.Message != "" || b.Fix != "" {
					t.Errorf("%s: brief unexpected-port finding already has its texts", c.name)
				}
			}
			e.Describe(&c.f, &brief)
			e.Describe(&c.f, &brief) // twice does nothing
			if !sameFinding(brief.Finding, full.Finding) {
				t.Errorf("%s: described %+v\nfull %+v", c.name, *brief.Finding, *full.Finding)
			}
		}
	}
	if deferred == 0 {
		t.Error("no case left an unexpected port's texts to Describe")
	}
}

// TestDescribeInferred: with roles inferred from traffic, the described
// finding carries the note saying so, as Verdict's does.
func TestDescribeInferred(t *testing.T) {
	e := NewEngine(nil, Infer([]FlowFacts{
		fl("tcp", "203.0.113.5:50001", accVIP+":443", "tls", tls, sni("sip.contoso.com")),
		fl("tcp", "203.0.113.6:50002", accVIP+":443", "tls", tls),
	}).Topology())
	f := fl("tcp", "203.0.113.7:50003", accVIP+":22", "unknown")
	v := e.VerdictBrief(&f)
	if v.Finding == nil || !v.Inferred || strings.Contains(v.Finding.Message, "inferred") {
		t.Fatalf("brief %+v", v.Finding)
	}
	e.Describe(&f, &v)
	full := e.Verdict(&f)
	if !strings.HasSuffix(v.Finding.Message, "(roles inferred from traffic; give --topology to confirm)") || !sameFinding(v.Finding, full.Finding) {
		t.Fatalf("described %+v\nfull %+v", *v.Finding, *full.Finding)
	}
}

func sameFinding(a, b *Finding) bool {
	return a.Kind == b.Kind && a.Severity == b.Severity && a.Requirement == b.Requirement && a.Rule == b.Rule &&
		a.Message == b.Message && a.Consequence == b.Consequence && a.Fix == b.Fix && a.Filter == b.Filter &&
		a.Count == b.Count && a.Subject == b.Subject && len(a.Flows) == len(b.Flows) && len(a.Evidence) == len(b.Evidence)
}
