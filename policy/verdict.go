package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// FlowFacts is what the flow table knows about one conversation when the
// policy judges it. Client is the side that opened it (CONTRACT "client").
type FlowFacts struct {
	Transport      uint8 // 6 tcp, 17 udp; other protocols get no verdict
	Client, Server netip.AddrPort
	// MACs of the client→server direction (source, destination), when the
	// capture has a link layer.
	ClientMAC, ServerMAC [6]byte
	HasMAC               bool
	App                  string // classifier's answer, a contract app name
	Detail               string // classifier's variant (app_detail)
	TLS                  bool   // a TLS record layer was seen (real or pseudo)
	PseudoTLS            bool   // the MS-TURN fake handshake, not real TLS
	// HandshakeSeen: the server's TLS handshake (ServerHello up to
	// ServerHelloDone) was seen in clear, so MutualTLS is meaningful. When
	// false the mutual-TLS check is skipped (capture began mid-connection,
	// TLS 1.3).
	HandshakeSeen bool
	MutualTLS     bool   // CertificateRequest and a non-empty client Certificate seen
	SNI           string // packet-derived; quoted when shown
	Answered      bool   // the server side sent anything (SYN-ACK or data)
	PacketsC2S    uint64
	PacketsS2C    uint64
	PayloadC2S    uint64 // transport payload bytes client→server
	PayloadS2C    uint64 // transport payload bytes server→client
	// OrphanSYNACK: the server answered a SYN this flow never carried (the
	// SYN went to another address: one half of an asymmetric return).
	OrphanSYNACK bool
}

// minJudgeBytes is how much payload a flow needs before an unrecognised
// payload counts as a protocol mismatch rather than "too little to tell".
const minJudgeBytes = 64

// Verdict is the policy's answer for one flow.
type Verdict struct {
	Rule                   string // id of the rule that allows the flow; "" if none (then Finding is set, or the flow is not the Edge's)
	ClientRole, ServerRole Role
	App                    string // classifier's app refined by the rule (tls on 5061 → sip)
	Inside                 bool   // Rule allows the flow as the HLB-to-node leg of a VIP rule
	Inferred               bool   // roles came from traffic, not a topology file
	Option                 string // the topology option that would allow the flow
	Finding                *Finding
}

// Engine judges flows against a rule set and a topology.
type Engine struct {
	rules *RuleSet
	res   *Resolver
	opts  Options
}

// NewEngine builds an engine; rs nil means the default rules, t nil means no
// addresses are known (every flow is between "any" addresses and unjudged).
func NewEngine(rs *RuleSet, t *Topology) *Engine {
	if rs == nil {
		rs = DefaultRules()
	}
	e := &Engine{rules: rs, res: NewResolver(t)}
	if t != nil {
		e.opts = t.Options
	}
	return e
}

// Resolver returns the engine's role resolver (for cross-flow detectors).
func (e *Engine) Resolver() *Resolver { return e.res }

// Rules returns the engine's rule set.
func (e *Engine) Rules() *RuleSet { return e.rules }

// effectiveApp folds the pseudo-TLS flag into the app: the MS-TURN fake
// handshake is STUN-family traffic, whatever the record layer looked like.
func effectiveApp(f *FlowFacts) string {
	app := f.App
	if app == "" {
		app = "unknown"
	}
	if f.PseudoTLS && (app == "tls" || app == "unknown") {
		app = "stun"
	}
	return app
}

// Verdict judges one flow. Only flows with an Edge role on at least one end
// are judged (GEN-01 is about the Edge's ports): traffic between two "any"
// addresses, or between internal servers, is not the Edge policy's business
// and gets an empty verdict. Load-balancer faults that need several flows
// (SNAT on A/V, asymmetric returns, one-way SIP, routing) are left to the
// cross-flow detectors; a flow from an hlb address to an av address, for
// example, is allowed here as the inside leg of EXT-V-07 and judged there.
func (e *Engine) Verdict(f *FlowFacts) Verdict {
	v := e.VerdictBrief(f)
	e.Describe(f, &v)
	return v
}

// VerdictBrief is Verdict without the texts of an unexpected port's finding
// (message, fix) and without any finding's Wireshark filter: what makes
// repeats of a finding the same one (kind, requirement, rule, subject) and
// its severity are there. A scan makes thousands of findings that only
// count into the first; Describe writes the texts of those that are kept.
func (e *Engine) VerdictBrief(f *FlowFacts) Verdict {
	app := effectiveApp(f)
	v := Verdict{
		ClientRole: e.res.Roles(f.Client.Addr()),
		ServerRole: e.res.Roles(f.Server.Addr()),
		App:        app,
		Inferred:   e.res.inferred,
	}
	if f.Transport != 6 && f.Transport != 17 {
		return v
	}
	if !(v.ClientRole | v.ServerRole).Has(RoleEdge) {
		return v
	}
	viaMAC := f.HasMAC && e.res.IsHLBMAC(f.ClientMAC)
	// Only a source that is the HLB (SNAT) or frames the HLB sent (no SNAT)
	// show an inside leg; frames sent *to* the HLB are just routed through it.
	crossed := v.ClientRole.Has(RoleHLB) || viaMAC

	var best *Rule
	var bestInside bool
	var bestKey [4]int
	for i := range e.rules.Rules {
		r := &e.rules.Rules[i]
		if r.Transport != f.Transport {
			continue
		}
		port := f.Server.Port()
		if !r.PortOnTo {
			port = f.Client.Port()
		}
		if port < r.PortLo || port > r.PortHi {
			continue
		}
		score, inside := 0, false
		if e.legMatch(r.Leg, v.ClientRole, v.ServerRole, false) {
			score = 2
		}
		if r.Inside != nil && e.legMatch(*r.Inside, v.ClientRole, v.ServerRole, viaMAC) {
			s := 1
			if crossed {
				s = 3
			}
			if s > score {
				score, inside = s, true
			}
		}
		if score == 0 {
			continue
		}
		key := [4]int{b2i(r.Enabled(e.opts)), b2i(r.accepts(app) || app == "unknown"), score, b2i(r.PortLo == r.PortHi)}
		if best == nil || greater(key, bestKey) {
			best, bestKey, bestInside = r, key, inside
		}
	}
	switch {
	case best == nil:
		v.Finding = e.unexpected(f, &v)
	case !best.Enabled(e.opts):
		v.Option = best.Option
		v.Finding = e.disabled(f, &v, best)
	default:
		if app == "tls" && best.App != "tls" && best.App != "stun" && best.App != "rtp" {
			v.App = best.App
		}
		// Rule is set only for a flow the rule allows; a mismatch names the
		// rule in its finding instead.
		if v.Finding = e.mismatch(f, &v, best, app); v.Finding == nil {
			v.Rule, v.Inside = best.ID, bestInside
		}
	}
	if v.Finding != nil {
		v.Finding.Count = 1
		v.Finding.brief |= briefNote
		// Repeats (a scan, every client with the wrong DNS name) aggregate on
		// the server side, the client's role and what was wrong.
		b := make([]byte, 0, 96)
		b = append(append(b, transportName(f.Transport)...), ' ')
		b = netip.AddrPortFrom(f.Server.Addr().Unmap(), f.Server.Port()).AppendTo(b)
		b = append(append(append(append(b, " from "...), v.ClientRole.String()...), ": "...), v.App...)
		v.Finding.Subject = string(b)
		if v.Inferred {
			// Roles learnt from traffic can be wrong; never call that an error.
			v.Finding.Severity = min(v.Finding.Severity, Warning)
		}
	}
	return v
}

// Describe writes the texts VerdictBrief left out of v's finding; f must be
// the facts v was judged from. Describing twice does nothing.
func (e *Engine) Describe(f *FlowFacts, v *Verdict) {
	fd := v.Finding
	if fd == nil || fd.brief == 0 {
		return
	}
	if fd.brief&briefText != 0 {
		e.unexpectedText(f, v, fd)
	}
	fd.brief = 0
	fd.Filter = WiresharkFilter(f.Transport, f.Client, f.Server)
	if v.Inferred {
		fd.Message += " (roles inferred from traffic; give --topology to confirm)"
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func greater(a, b [4]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}

// legMatch: each side of the rule names roles; "any" matches every address,
// federation-partner matches any unnamed address when the topology lists no
// partners, and viaMAC lets an inside leg that allows it accept a client
// whose frames come from the HLB's MAC (an HLB that does not SNAT).
func (e *Engine) legMatch(l Leg, cr, sr Role, viaMAC bool) bool {
	return (e.sideMatch(l.From, cr) || (l.ViaHLB && viaMAC)) && e.sideMatch(l.To, sr)
}

func (e *Engine) sideMatch(want, have Role) bool {
	if want.Has(RoleAny) || want&have != 0 {
		return true
	}
	return want.Has(RoleFederationPartner) && !e.res.partnersKnown && have == RoleAny
}

func endpoint(ap netip.AddrPort, r Role) string {
	return fmt.Sprintf("%s (%s)", netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), r)
}

func flowText(f *FlowFacts, v *Verdict) string {
	return fmt.Sprintf("%s %s → %s", transportName(f.Transport),
		endpoint(f.Client, v.ClientRole), endpoint(f.Server, v.ServerRole))
}

// unexpected: GEN-01. Severity: a port that answered is open although no
// Edge function needs it (warning: attack surface, no service broken); an
// attempt nobody answered shows the port closed and is only information.
func (e *Engine) unexpected(f *FlowFacts, v *Verdict) *Finding {
	fd := &Finding{
		Kind:        KindUnexpectedPort,
		Severity:    Warning,
		Requirement: "GEN-01",
		brief:       briefText,
		Consequence: "The port answers although no Edge function needs it, which widens what the Edge exposes.",
	}
	if !f.Answered {
		fd.Severity = Info
		fd.Consequence = "Nothing answered, so the port looks closed; something still tries it (a scan, a stale DNS record or a misconfigured client)."
	}
	fd.Rule = e.bypass(f.Transport, f.Server.Port(), v.ServerRole)
	return fd
}

// unexpectedText writes an unexpected port's message and fix.
func (e *Engine) unexpectedText(f *FlowFacts, v *Verdict, fd *Finding) {
	port, tn := f.Server.Port(), transportName(f.Transport)
	if fd.Rule != "" { // the inside leg of a VIP rule, bypassed
		fd.Message = fmt.Sprintf("%s: the client reached a real node address directly instead of going through the VIP (%s allows only the HLB on this leg).",
			flowText(f, v), fd.Rule)
		fd.Fix = fmt.Sprintf("Publish and route this service only through its VIP and block %s/%d to the node's real address from outside the HLB; if the HLB forwards without SNAT, list its MAC addresses under hlb.macs so its inside legs are recognised.",
			tn, port)
		return
	}
	fd.Message = fmt.Sprintf("%s: no enabled rule allows %s/%d from %s to %s.", flowText(f, v), tn, port, v.ClientRole, v.ServerRole)
	if allowed := e.allowedBy(f.Transport, port); allowed != "" {
		fd.Fix = fmt.Sprintf("%s/%d is allowed only as %s; block this flow on the firewall or point the client at the right address.", tn, port, allowed)
	} else {
		fd.Fix = fmt.Sprintf("Close %s/%d to %s on the firewall; if the Edge really needs it, add a rule in a --policy file.", tn, port, f.Server.Addr())
	}
}

// bypass is the VIP rule, if any, whose inside leg a flow to port on an
// address of serverRole bypasses (it reached a node, not the VIP).
func (e *Engine) bypass(transport uint8, port uint16, serverRole Role) string {
	id := ""
	for i := range e.rules.Rules {
		r := &e.rules.Rules[i]
		if r.Transport == transport && r.PortOnTo && port >= r.PortLo && port <= r.PortHi &&
			r.Inside != nil && r.Inside.ViaHLB && e.sideMatch(r.Inside.To, serverRole) {
			id = r.ID // the last, as rule order has it
		}
	}
	return id
}

// allowedBy lists the rules that allow a port, for GEN-01's fix.
func (e *Engine) allowedBy(transport uint8, port uint16) string {
	var list []string
	for i := range e.rules.Rules {
		r := &e.rules.Rules[i]
		if r.Transport == transport && r.PortOnTo && port >= r.PortLo && port <= r.PortHi {
			list = append(list, fmt.Sprintf("%s %s→%s", r.ID, roleList(r.Leg.From), roleList(r.Leg.To)))
		}
	}
	if len(list) > 4 {
		list = append(list[:4], "…")
	}
	return strings.Join(list, ", ")
}

// disabled: the only rules allowing the flow are switched off by a topology
// option. Same severities as GEN-01: the topology says the function is not
// deployed, so an answering port is exposure, not a broken service.
func (e *Engine) disabled(f *FlowFacts, v *Verdict, r *Rule) *Finding {
	fd := &Finding{
		Kind:        KindUnexpectedPort,
		Severity:    Warning,
		Requirement: "GEN-01",
		Rule:        r.ID,
		Message: fmt.Sprintf("%s: %s would allow this, but it needs options.%s, which the topology leaves off.",
			flowText(f, v), r.ID, r.Option),
		Consequence: "Traffic reaches a function the topology says is not deployed, so either the port is open needlessly or the topology is wrong.",
		Fix:         fmt.Sprintf("Close %s/%s on the firewall, or set options.%s: true in the topology if the function is deployed.", transportName(r.Transport), r.Ports(), r.Option),
	}
	if r.Option == OptionXMPP {
		fd.Requirement = "GEN-04"
	}
	if !f.Answered {
		fd.Severity = Info
	}
	return fd
}

// mismatch: the port is allowed, the payload is not what the rule's service
// speaks. A protocol on the wrong service means a client or server is pointed
// at the wrong address (DNS, certificate, HLB pool) and that service fails
// for it: an error. An unrecognised payload is a warning: we cannot say what
// it is, only that it is not the service.
func (e *Engine) mismatch(f *FlowFacts, v *Verdict, r *Rule, app string) *Finding {
	fd := &Finding{Kind: KindProtocolMismatch, Severity: Error, Requirement: "GEN-01", Rule: r.ID}
	svc := fmt.Sprintf("%s/%s (%s, %s)", transportName(r.Transport), r.Ports(), r.ID, r.Service)
	sni := ""
	if f.SNI != "" {
		sni = fmt.Sprintf(" (server name %q, from the packets)", f.SNI)
	}
	switch {
	case app == "unknown":
		if f.PayloadC2S+f.PayloadS2C < minJudgeBytes {
			return nil // too little payload to judge
		}
		fd.Severity = Warning
		fd.Message = fmt.Sprintf("%s: %d bytes of payload on %s that match no protocol of the service (%s expected).",
			flowText(f, v), f.PayloadC2S+f.PayloadS2C, svc, strings.Join(r.Accept, " or "))
		fd.Consequence = "Something other than the Edge service is using the port, or the service is wrapped in a way the Edge does not speak."
		fd.Fix = "Find the application behind this flow and move it off the Edge's port, or check for a proxy or inspection device rewriting the traffic."
	case !r.accepts(app):
		what := app
		if f.PseudoTLS {
			what = "MS-TURN (pseudo-TLS)"
		} else if app == "tls" {
			what = "real TLS"
		}
		fd.Message = fmt.Sprintf("%s: %s%s on %s, which expects %s.", flowText(f, v), what, sni, svc, strings.Join(r.Accept, " or "))
		fd.Consequence = mismatchConsequence(r, app, f.PseudoTLS)
		fd.Fix = mismatchFix(r, app, f.PseudoTLS)
	case r.TLS && !f.TLS && !f.PseudoTLS && (app == "sip" || app == "xmpp"):
		fd.Message = fmt.Sprintf("%s: cleartext %s on %s, which runs only inside TLS.", flowText(f, v), app, svc)
		fd.Consequence = "The Edge accepts this service only over TLS, so the cleartext client is refused, and its messages cross the network unprotected."
		fd.Fix = "Configure the sender (or any SIP proxy or HLB profile in between) to use TLS on this port."
	case r.MTLS && f.HandshakeSeen && !f.MutualTLS:
		fd.Message = fmt.Sprintf("%s: the TLS handshake on %s completed without a client certificate, but the service requires mutual TLS.", flowText(f, v), svc)
		fd.Consequence = "The server did not ask for or did not get a client certificate, so this is not the Edge service (or a TLS-terminating device sits in front of it) and server-to-server trust fails."
		fd.Fix = "Check that this address and port reach the Edge service itself, not an HLB profile or proxy that terminates TLS; the HLB must pass 5061/5062/8057/23456/50001-50003 through untouched."
	case f.SNI != "" && sniService(f.SNI) != "" && sniService(f.SNI) != r.Service && (r.Service == "access" || r.Service == "webconf"):
		fd.Severity = Warning
		fd.Message = fmt.Sprintf("%s: the client asked for server name %q (from the packets) on %s, which belongs to another Edge service.",
			flowText(f, v), f.SNI, svc)
		fd.Consequence = "The client's DNS name points at the wrong VIP, so it talks to the wrong Edge service and sign-in or meeting content fails for it."
		fd.Fix = "Point the DNS record of that name at the VIP of its own service (sip → Access Edge VIP, webcon → Web Conferencing Edge VIP)."
	default:
		return nil
	}
	return fd
}

// sniService guesses the Edge service a server name is for from its first
// label, following the usual Lync naming (sip., webcon., av.).
func sniService(sni string) string {
	label, _, _ := strings.Cut(strings.ToLower(sni), ".")
	switch label {
	case "sip", "access", "accessedge":
		return "access"
	case "webcon", "webconf", "webconference":
		return "webconf"
	case "av", "avedge":
		return "av"
	}
	return ""
}

func mismatchConsequence(r *Rule, app string, pseudo bool) string {
	switch {
	case r.App == "stun" && app == "tls":
		return "The A/V Edge has no certificate and speaks only MS-TURN here, so this TLS client (usually one resolving the wrong name to the A/V address) cannot connect."
	case (r.App == "sip" || r.App == "psom") && (pseudo || app == "stun" || app == "rtp"):
		return "A/V relay traffic is reaching the SIP or Web Conferencing service, so media set-up through this address fails (the A/V name or HLB pool points at the wrong VIP)."
	case app == "http":
		return "Plain HTTP reaches a port that carries a TLS service, so whatever sent it gets no usable answer and the port serves something it should not."
	}
	return "The port carries a protocol its Edge service does not speak, so that traffic fails or reaches the wrong service."
}

func mismatchFix(r *Rule, app string, pseudo bool) string {
	switch {
	case r.App == "stun" && app == "tls":
		return "Check DNS records and the HLB pool behind this VIP: SIP and web conferencing names must resolve to the Access and Web Conferencing VIPs, not the A/V one."
	case (r.App == "sip" || r.App == "psom") && (pseudo || app == "stun" || app == "rtp"):
		return "Point the A/V Edge's external name and the HLB's A/V pool at the A/V VIP and the nodes' av addresses."
	}
	return fmt.Sprintf("Make %s/%s carry only %s: move the other application, or fix the DNS record or HLB pool that sends it here.",
		transportName(r.Transport), r.Ports(), strings.Join(r.Accept, " or "))
}

// WiresharkFilter is a display filter showing exactly the flow's packets.
func WiresharkFilter(transport uint8, client, server netip.AddrPort) string {
	ip := "ip.addr"
	if server.Addr().Is6() && !server.Addr().Is4In6() {
		ip = "ipv6.addr"
	}
	tp := transportName(transport)
	if transport != 6 && transport != 17 {
		return fmt.Sprintf("%s==%s && %s==%s", ip, server.Addr().Unmap(), ip, client.Addr().Unmap())
	}
	return fmt.Sprintf("%s==%s && %s.port==%d && %s==%s && %s.port==%d",
		ip, server.Addr().Unmap(), tp, server.Port(), ip, client.Addr().Unmap(), tp, client.Port())
}
