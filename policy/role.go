package policy

import (
	"fmt"
	"math/bits"
	"strings"
)

// Role is a set of the address roles of edge-port-policy.md. An address can
// hold several (a misconfigured topology can make it so); RoleAny means the
// address has no named role.
type Role uint16

// The roles, one bit each. RoleAny in a rule matches every address.
const (
	RoleAccessVIP Role = 1 << iota
	RoleWebConfVIP
	RoleAVVIP
	RoleAccess
	RoleWebConf
	RoleAV
	RoleInternalVIP
	RoleEdgeInternal
	RoleFrontEnd
	RoleDirector
	RoleSBA
	RoleFederationPartner
	RoleHLB
	RoleAny
)

// roleNames are the names of edge-port-policy.md, in bit order.
var roleNames = [...]string{
	"access-vip", "webconf-vip", "av-vip", "access", "webconf", "av",
	"internal-vip", "edge-internal", "front-end", "director", "sba",
	"federation-partner", "hlb", "any",
}

// RoleEdge is every role that belongs to the Edge pool itself: flows that
// touch one of these are judged by the port rules (GEN-01).
const RoleEdge = RoleAccessVIP | RoleWebConfVIP | RoleAVVIP | RoleAccess | RoleWebConf | RoleAV |
	RoleInternalVIP | RoleEdgeInternal

// RoleVIP is the set of HLB virtual IP roles.
const RoleVIP = RoleAccessVIP | RoleWebConfVIP | RoleAVVIP | RoleInternalVIP

// String names the roles, joined by "+" when there are several; the empty
// set prints as "any".
func (r Role) String() string {
	if r == 0 {
		return "any"
	}
	// Records name roles for every flow: a single role (nearly always)
	// is a name from the table, without allocating.
	if r.Count() == 1 && r < 1<<len(roleNames) {
		return roleNames[bits.TrailingZeros16(uint16(r))]
	}
	return r.format()
}

func (r Role) format() string {
	var b strings.Builder
	for i, name := range roleNames {
		if r&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('+')
			}
			b.WriteString(name)
		}
	}
	if rest := r &^ (1<<len(roleNames) - 1); rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('+')
		}
		fmt.Fprintf(&b, "role(%#x)", uint16(rest))
	}
	return b.String()
}

// Has reports whether r holds any role of q.
func (r Role) Has(q Role) bool { return r&q != 0 }

// Count is the number of roles in the set.
func (r Role) Count() int { return bits.OnesCount16(uint16(r)) }

// ParseRole reads one role name of edge-port-policy.md.
func ParseRole(s string) (Role, error) {
	for i, name := range roleNames {
		if s == name {
			return 1 << i, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (want one of %s)", s, strings.Join(roleNames[:], ", "))
}

// roleList prints a rule side ("director,front-end").
func roleList(r Role) string { return strings.ReplaceAll(r.String(), "+", ",") }
