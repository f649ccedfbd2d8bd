package policy

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed rules.yaml
var defaultRulesYAML []byte

// DefaultRulesYAML is the embedded default policy, as text (for documentation
// and as a starting point for a --policy file).
func DefaultRulesYAML() []byte { return slices.Clone(defaultRulesYAML) }

// Apps are the contract's application names (flows[].app).
var Apps = []string{"sip", "psom", "stun", "xmpp", "cls", "rtp", "dns", "http", "tls", "unknown"}

// SourceInferred is Topology.Source for a topology learnt from traffic.
const SourceInferred = "inferred"

// Option names a topology option that switches rules on.
const (
	OptionXMPP              = "xmpp"
	OptionFederationOCS2007 = "federation_ocs2007"
)

// Leg is one side-pair of a rule: the roles of the connection's opener
// (From) and of the side it connects to (To).
type Leg struct {
	From, To Role
	// ViaHLB: on an inside leg, a client that is not an hlb address still
	// counts when its frames come from an HLB MAC (an HLB without SNAT).
	ViaHLB bool
}

// Rule is one port rule of edge-port-policy.md.
type Rule struct {
	ID        string
	Service   string
	Transport uint8 // 6 tcp, 17 udp
	PortLo    uint16
	PortHi    uint16
	PortOnTo  bool     // the port is the To side's (server's); false: the From side's own port
	Leg       Leg      // as the requirement states it (to the VIP for EXT-V/INT-V)
	Inside    *Leg     // the HLB-to-real-node leg of a VIP rule, if it has one
	App       string   // what the service speaks; opaque TLS on this rule is reported as this
	Accept    []string // classifier answers that fit the service
	TLS       bool     // the service runs inside TLS from the first byte
	MTLS      bool     // the server must ask for and get a client certificate (implies TLS)
	Option    string   // topology option that enables the rule; "" always on
	Reason    string
	Where     string // file:line:col of the rule's entry
}

// RuleSet is an ordered policy; earlier rules win ties.
type RuleSet struct {
	Source string // "default" or the file
	Rules  []Rule
}

// Transport names "tcp"/"udp" for a protocol number.
func transportName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	return "ip-proto-" + strconv.Itoa(int(p))
}

// Ports prints the rule's port or range ("443", "50000-59999").
func (r *Rule) Ports() string {
	if r.PortLo == r.PortHi {
		return strconv.Itoa(int(r.PortLo))
	}
	return fmt.Sprintf("%d-%d", r.PortLo, r.PortHi)
}

// Enabled reports whether the rule is on under the given options.
func (r *Rule) Enabled(o Options) bool {
	switch r.Option {
	case OptionXMPP:
		return o.XMPP
	case OptionFederationOCS2007:
		return o.FederationOCS2007
	}
	return true
}

func (r *Rule) accepts(app string) bool { return slices.Contains(r.Accept, app) }

var defaultRules *RuleSet

func init() {
	rs, err := ParseRules(defaultRulesYAML, "policy/rules.yaml")
	if err != nil {
		panic("edgeaudit: embedded policy is invalid: " + err.Error())
	}
	rs.Source = "default"
	defaultRules = rs
}

// DefaultRules is the embedded policy (the 33 rules of edge-port-policy.md).
// Callers must not modify it.
func DefaultRules() *RuleSet { return defaultRules }

// LoadRules reads a policy file (--policy) that replaces the default.
func LoadRules(path string) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return ParseRules(data, path)
}

// ParseRules parses and validates policy YAML (format in doc.go); name labels
// error positions. All errors found are returned, joined.
func ParseRules(data []byte, name string) (*RuleSet, error) {
	y := &yfile{name: name, data: data}
	root, err := y.parse()
	if err != nil {
		return nil, err
	}
	rs := &RuleSet{Source: name}
	top := y.mapping(root, "policy", "version", "rules")
	if e, ok := top["version"]; ok {
		if v, ok := y.integer(e.val, "version"); ok && v != 1 {
			y.fail(e.val, "version %d is not supported (this edgeaudit reads version 1)", v)
		}
	} else {
		y.fail(root, "version is missing (add \"version: 1\")")
	}
	e, ok := top["rules"]
	if !ok {
		y.fail(root, "rules is missing")
		return nil, y.err()
	}
	seen := map[string]string{}
	for i, item := range y.seq(e.val, "rules", false) {
		what := fmt.Sprintf("rules[%d]", i)
		if item.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(item.Content); j += 2 {
				if k, v := item.Content[j], item.Content[j+1]; k.Value == "id" && v.Kind == yaml.ScalarNode && v.Value != "" {
					what = v.Value
				}
			}
		}
		m := y.mapping(item, what, "id", "service", "transport", "port", "port_side", "from", "to",
			"inside", "app", "accept", "tls", "mtls", "option", "reason")
		if m == nil {
			continue
		}
		r := Rule{Where: y.pos(item), PortOnTo: true}
		need := func(key string) (kv, bool) {
			v, ok := m[key]
			if !ok {
				y.fail(item, "%s: %s is missing", what, key)
			}
			return v, ok
		}
		if v, ok := need("id"); ok {
			if r.ID, ok = y.str(v.val, what+".id"); ok {
				if r.ID == "" {
					y.fail(v.val, "%s.id is empty", what)
				} else if prev, dup := seen[r.ID]; dup {
					y.fail(v.val, "rule id %s is already used at %s", r.ID, prev)
				}
				seen[r.ID] = y.pos(v.val)
			}
		}
		if v, ok := need("service"); ok {
			r.Service, _ = y.str(v.val, what+".service")
		}
		if v, ok := need("transport"); ok {
			if s, ok := y.str(v.val, what+".transport"); ok {
				switch s {
				case "tcp":
					r.Transport = 6
				case "udp":
					r.Transport = 17
				default:
					y.fail(v.val, "%s.transport: %q is not tcp or udp", what, s)
				}
			}
		}
		if v, ok := need("port"); ok {
			if s, ok := y.str(v.val, what+".port"); ok {
				lo, hi, err := parsePortRange(s)
				if err != nil {
					y.fail(v.val, "%s.port: %v", what, err)
				}
				r.PortLo, r.PortHi = lo, hi
			}
		}
		if v, ok := m["port_side"]; ok {
			if s, ok := y.str(v.val, what+".port_side"); ok {
				switch s {
				case "to":
				case "from":
					r.PortOnTo = false
				default:
					y.fail(v.val, "%s.port_side: %q is not \"to\" or \"from\"", what, s)
				}
			}
		}
		if v, ok := need("from"); ok {
			r.Leg.From = y.roles(v.val, what+".from")
		}
		if v, ok := need("to"); ok {
			r.Leg.To = y.roles(v.val, what+".to")
		}
		if v, ok := m["inside"]; ok {
			im := y.mapping(v.val, what+".inside", "from", "to", "via_hlb_mac")
			if im != nil {
				in := &Leg{}
				if f, ok := im["from"]; ok {
					in.From = y.roles(f.val, what+".inside.from")
				} else {
					y.fail(v.val, "%s.inside.from is missing", what)
				}
				if f, ok := im["to"]; ok {
					in.To = y.roles(f.val, what+".inside.to")
				} else {
					y.fail(v.val, "%s.inside.to is missing", what)
				}
				if f, ok := im["via_hlb_mac"]; ok {
					in.ViaHLB, _ = y.boolean(f.val, what+".inside.via_hlb_mac")
				}
				r.Inside = in
			}
		}
		if v, ok := need("app"); ok {
			if s, ok := y.str(v.val, what+".app"); ok {
				if !slices.Contains(Apps, s) || s == "unknown" {
					y.fail(v.val, "%s.app: %q is not one of %s", what, s, strings.Join(Apps[:len(Apps)-1], ", "))
				}
				r.App = s
			}
		}
		if v, ok := m["accept"]; ok {
			for _, it := range y.seq(v.val, what+".accept", true) {
				if s, ok := y.str(it, what+".accept"); ok {
					if !slices.Contains(Apps, s) || s == "unknown" {
						y.fail(it, "%s.accept: %q is not one of %s", what, s, strings.Join(Apps[:len(Apps)-1], ", "))
						continue
					}
					r.Accept = append(r.Accept, s)
				}
			}
		}
		if r.App != "" && !slices.Contains(r.Accept, r.App) {
			r.Accept = append([]string{r.App}, r.Accept...)
		}
		if v, ok := m["tls"]; ok {
			r.TLS, _ = y.boolean(v.val, what+".tls")
		}
		if v, ok := m["mtls"]; ok {
			r.MTLS, _ = y.boolean(v.val, what+".mtls")
			r.TLS = r.TLS || r.MTLS
		}
		if v, ok := m["option"]; ok {
			if s, ok := y.str(v.val, what+".option"); ok {
				if s != OptionXMPP && s != OptionFederationOCS2007 {
					y.fail(v.val, "%s.option: %q is not %s or %s", what, s, OptionXMPP, OptionFederationOCS2007)
				}
				r.Option = s
			}
		}
		if v, ok := need("reason"); ok {
			r.Reason, _ = y.str(v.val, what+".reason")
		}
		rs.Rules = append(rs.Rules, r)
	}
	if err := y.err(); err != nil {
		return nil, err
	}
	if len(rs.Rules) == 0 {
		return nil, fmt.Errorf("%s:%d:%d: the policy has no rules", name, e.val.Line, e.val.Column)
	}
	return rs, nil
}

func (y *yfile) roles(n *yaml.Node, what string) Role {
	var r Role
	items := y.seq(n, what, true)
	for _, it := range items {
		s, ok := y.str(it, what)
		if !ok {
			continue
		}
		role, err := ParseRole(s)
		if err != nil {
			y.fail(it, "%s: %v", what, err)
			continue
		}
		r |= role
	}
	if len(items) == 0 {
		y.fail(n, "%s: name at least one role (any for every address)", what)
	}
	return r
}

func parsePortRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	l, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	h := l
	var err2 error
	if isRange {
		h, err2 = strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	}
	if err1 != nil || err2 != nil || l == 0 || h == 0 {
		return 0, 0, fmt.Errorf("%q is not a port (1-65535) or range (50000-59999)", s)
	}
	if l > h {
		return 0, 0, fmt.Errorf("range %q runs backwards", s)
	}
	return uint16(l), uint16(h), nil
}
