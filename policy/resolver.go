package policy

import (
	"net/netip"
	"slices"
)

// Resolver maps addresses and MACs to roles. Build it once per run; Roles is
// meant to be called once per flow (a map lookup plus a short prefix scan).
type Resolver struct {
	exact         map[netip.Addr]Role
	prefixes      []rolePrefix
	hlbMACs       [][6]byte
	nodeMACs      map[[6]byte]string
	partnersKnown bool
	inferred      bool
}

type rolePrefix struct {
	p    netip.Prefix
	role Role
}

// NewResolver indexes a topology's addresses; a nil topology knows no roles.
func NewResolver(t *Topology) *Resolver {
	r := &Resolver{exact: map[netip.Addr]Role{}, nodeMACs: map[[6]byte]string{}}
	if t == nil {
		return r
	}
	r.inferred = t.Source == SourceInferred
	addAll := func(as []netip.Addr, role Role) {
		for _, a := range as {
			r.exact[a.Unmap()] |= role
		}
	}
	addAll(t.VIPs.Access, RoleAccessVIP)
	addAll(t.VIPs.WebConf, RoleWebConfVIP)
	addAll(t.VIPs.AV, RoleAVVIP)
	addAll(t.VIPs.Internal, RoleInternalVIP)
	for _, n := range t.Nodes {
		addAll(n.Access, RoleAccess)
		addAll(n.WebConf, RoleWebConf)
		addAll(n.AV, RoleAV)
		addAll(n.Internal, RoleEdgeInternal)
		for _, m := range n.MACs {
			r.nodeMACs[m] = n.Name
		}
	}
	r.addPrefixes(t.HLB.Addresses, RoleHLB)
	r.addPrefixes(t.Internal.FrontEnd, RoleFrontEnd)
	r.addPrefixes(t.Internal.Director, RoleDirector)
	r.addPrefixes(t.Internal.SBA, RoleSBA)
	r.addPrefixes(t.Federation.Partners, RoleFederationPartner)
	// Listed partners limit federation-partner legs to them; partners
	// inferred from traffic do not (one seen is no proof there are no
	// others, later in the capture or after inference ran).
	r.partnersKnown = len(t.Federation.Partners) > 0 && !r.inferred
	r.hlbMACs = slices.Clone(t.HLB.MACs)
	return r
}

func (r *Resolver) addPrefixes(ps []netip.Prefix, role Role) {
	for _, p := range ps {
		if p.IsSingleIP() {
			r.exact[p.Addr().Unmap()] |= role
			continue
		}
		r.prefixes = append(r.prefixes, rolePrefix{p, role})
	}
}

// Roles returns every role the address holds, or RoleAny when it holds none.
func (r *Resolver) Roles(a netip.Addr) Role {
	a = a.Unmap()
	role := r.exact[a]
	for _, p := range r.prefixes {
		if p.p.Contains(a) {
			role |= p.role
		}
	}
	if role == 0 {
		return RoleAny
	}
	return role
}

// IsHLBMAC reports whether mac is one of the HLB's MAC addresses.
func (r *Resolver) IsHLBMAC(mac [6]byte) bool { return slices.Contains(r.hlbMACs, mac) }

// HasHLBMACs reports whether the topology lists HLB MACs, without which
// MAC-based checks (HLB-10, bypass and DSR) cannot be made.
func (r *Resolver) HasHLBMACs() bool { return len(r.hlbMACs) > 0 }

// NodeMAC returns the name of the Edge node that owns mac, if listed.
func (r *Resolver) NodeMAC(mac [6]byte) (string, bool) {
	n, ok := r.nodeMACs[mac]
	return n, ok
}

// PartnersKnown reports whether the topology lists federation partners; if
// not, federation-partner in a rule matches any address without a role.
func (r *Resolver) PartnersKnown() bool { return r.partnersKnown }

// Inferred reports whether the roles were learnt from traffic, not a file.
func (r *Resolver) Inferred() bool { return r.inferred }
