package policy

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the effective rule table for `policy show`: one row per
// rule id with transport/port, roles, expected app and whether it is enabled
// (options come from t; without a topology optional rules show as "needs
// OPTION"). With a topology it then lists the concrete addresses per role.
func WriteTable(w io.Writer, rs *RuleSet, t *Topology) error {
	if rs == nil {
		rs = DefaultRules()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "# policy: %s, %d rules", rs.Source, len(rs.Rules))
	if t != nil {
		fmt.Fprintf(tw, "; topology: %s", t.Source)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "ID\tSERVICE\tPORT\tFROM\tTO\tINSIDE LEG\tAPP\tTLS\tSTATE")
	for i := range rs.Rules {
		r := &rs.Rules[i]
		port := transportName(r.Transport) + "/" + r.Ports()
		if !r.PortOnTo {
			port += " (from side)"
		}
		inside := "-"
		if r.Inside != nil {
			inside = roleList(r.Inside.From) + " → " + roleList(r.Inside.To)
			if r.Inside.ViaHLB {
				inside += " (or via HLB MAC)"
			}
		}
		tls := "-"
		switch {
		case r.MTLS:
			tls = "mutual"
		case r.TLS:
			tls = "yes"
		}
		state := "enabled"
		if r.Option != "" {
			switch {
			case t == nil:
				state = "needs " + r.Option
			case r.Enabled(t.Options):
				state = "enabled (" + r.Option + ")"
			default:
				state = "disabled (" + r.Option + ": false)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Service, port,
			roleList(r.Leg.From), roleList(r.Leg.To), inside, strings.Join(r.Accept, ","), tls, state)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing rule table: %w", err)
	}
	if t == nil {
		_, err := fmt.Fprintln(w, "\nNo topology given: roles are inferred from traffic at audit time (see --topology).")
		return err
	}
	fmt.Fprintln(w, "\nAddresses per role:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(role Role, as []string) {
		if len(as) == 0 {
			as = []string{"(none listed)"}
		}
		fmt.Fprintf(tw, "  %s\t%s\n", role, strings.Join(as, ", "))
	}
	addrs := func(as []netip.Addr) []string {
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = a.String()
		}
		return out
	}
	nodeAddrs := func(get func(Node) []netip.Addr) []string {
		var out []string
		for _, n := range t.Nodes {
			for _, a := range get(n) {
				out = append(out, a.String()+" ("+n.Name+")")
			}
		}
		return out
	}
	prefixes := func(ps []netip.Prefix) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			if p.IsSingleIP() {
				out[i] = p.Addr().String()
			} else {
				out[i] = p.String()
			}
		}
		return out
	}
	row(RoleAccessVIP, addrs(t.VIPs.Access))
	row(RoleWebConfVIP, addrs(t.VIPs.WebConf))
	row(RoleAVVIP, addrs(t.VIPs.AV))
	row(RoleAccess, nodeAddrs(func(n Node) []netip.Addr { return n.Access }))
	row(RoleWebConf, nodeAddrs(func(n Node) []netip.Addr { return n.WebConf }))
	row(RoleAV, nodeAddrs(func(n Node) []netip.Addr { return n.AV }))
	row(RoleInternalVIP, addrs(t.VIPs.Internal))
	row(RoleEdgeInternal, nodeAddrs(func(n Node) []netip.Addr { return n.Internal }))
	row(RoleFrontEnd, prefixes(t.Internal.FrontEnd))
	row(RoleDirector, prefixes(t.Internal.Director))
	row(RoleSBA, prefixes(t.Internal.SBA))
	partners := prefixes(t.Federation.Partners)
	if len(partners) == 0 {
		partners = []string{"(none listed: any address)"}
	}
	row(RoleFederationPartner, partners)
	hlb := prefixes(t.HLB.Addresses)
	for _, m := range t.HLB.MACs {
		hlb = append(hlb, "mac "+macString(m))
	}
	row(RoleHLB, hlb)
	row(RoleAny, []string{"every other address"})
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing role table: %w", err)
	}
	return nil
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}
