package decode

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// A pure-Go compiler of tcpdump-syntax capture filters to classic BPF, for
// the subset that SPAN-port audits use; the program runs in the kernel
// (SO_ATTACH_FILTER). Anything outside the subset is rejected with an error
// naming it: a filter is never silently widened or narrowed.
//
// Supported (pcap-filter(7) meaning):
//
//	[ip|ip6] [src|dst|src or dst|src and dst] host ADDR
//	[ip|ip6] [src|dst|...] net ADDR/LEN | net ADDR mask MASK | net 10.1
//	[tcp|udp|sctp] [src|dst|...] port N | portrange N-M
//	ip | ip6 | arp | tcp | udp | sctp | icmp | icmp6
//	vlan [ID]    (the 802.1Q tag the Linux kernel took out of the frame)
//	less N | greater N
//	and && or || not ! ( )    and a bare value repeating the qualifiers
//	                          before it: "host 192.0.2.1 or 192.0.2.2"
//
// Offsets are those of an untagged frame: on Linux the kernel strips the
// outer VLAN tag before filters run, so "vlan 10 and port 443" works; an
// inner (QinQ) tag still in the frame is not skipped.

// ErrFilterUnsupported is wrapped by CompileFilter for an expression
// outside the supported subset.
var ErrFilterUnsupported = errors.New("not supported in capture filters")

// FilterSubset describes what CompileFilter accepts, for error messages.
const FilterSubset = "host, net, port, portrange, src, dst, ip, ip6, arp, tcp, udp, sctp, icmp, icmp6, vlan, less, greater, and/or/not, parentheses"

// maxFilterLen bounds the expression and the program (BPF_MAXINSNS).
const (
	maxFilterExpr = 4096
	maxFilterInsn = 4096
)

// CompileFilter compiles a tcpdump-syntax expression for frames of the
// given link type (LinkTypeEthernet or LinkTypeRaw), accepting up to
// snapLen bytes of each matching frame. An empty expression gives nil (no
// filter).
func CompileFilter(expr string, linkType uint16, snapLen int) ([]bpf.RawInstruction, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	if len(expr) > maxFilterExpr {
		return nil, fmt.Errorf("capture filter longer than %d bytes", maxFilterExpr)
	}
	if linkType != LinkTypeEthernet && linkType != LinkTypeRaw {
		return nil, fmt.Errorf("capture filters: link type %d %w", linkType, ErrFilterUnsupported)
	}
	if snapLen <= 0 {
		snapLen = DefaultSnapLen
	}
	toks, err := lexFilter(expr)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("capture filter: unexpected %q at the end", p.toks[p.pos])
	}
	g := &codegen{raw: linkType == LinkTypeRaw}
	t, f := g.label(), g.label()
	g.node(n, t, f)
	g.place(t)
	g.emit(bpf.RetConstant{Val: uint32(snapLen)})
	g.place(f)
	g.emit(bpf.RetConstant{Val: 0})
	return g.assemble()
}

// ---- lexer ----

func lexFilter(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			out = append(out, s[i:i+1])
			i++
		case c == '!' && !(i+1 < len(s) && s[i+1] == '='):
			out = append(out, "not")
			i++
		case strings.HasPrefix(s[i:], "&&"):
			out = append(out, "and")
			i += 2
		case strings.HasPrefix(s[i:], "||"):
			out = append(out, "or")
			i += 2
		case c == '!' || c == '[' || c == ']' || c == '=' || c == '<' || c == '>' || c == '&' || c == '|' || c == '+' || c == '*' || c == '\\':
			return nil, fmt.Errorf("capture filter: %q: byte offsets, arithmetic and comparisons (ip[0], tcp[13] & 2, len > 100) are %w (supported: %s)",
				s, ErrFilterUnsupported, FilterSubset)
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()!&|[]=<>+*\\", rune(s[j])) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("capture filter: unexpected %q", s[i:i+1])
			}
			out = append(out, strings.ToLower(s[i:j]))
			i = j
		}
	}
	if len(out) == 0 {
		return nil, errors.New("capture filter: empty")
	}
	return out, nil
}

// ---- syntax tree ----

type fnode struct {
	op   byte // '&', '|', '!', or 0 for a test
	a, b *fnode
	t    atom
}

// atom is one comparison: load a value, mask it, compare with k.
type atom struct {
	load  bpf.Instruction // LoadAbsolute, LoadIndirect or LoadExtension
	msh   uint32          // when non-zero, ldxb 4*([msh-1]&0xf) first (offset+1)
	mask  uint32
	cmp   bpf.JumpTest // JumpEqual, JumpGreaterOrEqual, JumpGreaterThan, JumpBitsSet
	k     uint32
	never bool // constant false (arp on a raw IP link)
}

func and(a, b *fnode) *fnode {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return &fnode{op: '&', a: a, b: b}
}
func or(a, b *fnode) *fnode {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return &fnode{op: '|', a: a, b: b}
}
func not(a *fnode) *fnode { return &fnode{op: '!', a: a} }
func test(t atom) *fnode  { return &fnode{t: t} }

// ---- parser ----

type quals struct {
	proto string // ip ip6 tcp udp sctp icmp icmp6 arp
	dir   string // src dst "src or dst" "src and dst"
	typ   string // host net port portrange
}

type filterParser struct {
	toks []string
	pos  int
	last *quals // qualifiers of the previous primitive, for bare values
}

const maxFilterDepth = 100

func (p *filterParser) peek(off int) string {
	if p.pos+off < len(p.toks) {
		return p.toks[p.pos+off]
	}
	return ""
}

func (p *filterParser) expr(depth int) (*fnode, error) {
	if depth > maxFilterDepth {
		return nil, errors.New("capture filter: nested too deeply")
	}
	n, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	for p.peek(0) == "or" {
		p.pos++
		m, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		n = or(n, m)
	}
	return n, nil
}

func (p *filterParser) term(depth int) (*fnode, error) {
	n, err := p.factor(depth)
	if err != nil {
		return nil, err
	}
	for p.peek(0) == "and" {
		p.pos++
		m, err := p.factor(depth)
		if err != nil {
			return nil, err
		}
		n = and(n, m)
	}
	return n, nil
}

func (p *filterParser) factor(depth int) (*fnode, error) {
	if depth > maxFilterDepth {
		return nil, errors.New("capture filter: nested too deeply")
	}
	switch t := p.peek(0); t {
	case "":
		return nil, errors.New("capture filter: expression ends too early")
	case "not":
		p.pos++
		n, err := p.factor(depth + 1)
		if err != nil {
			return nil, err
		}
		return not(n), nil
	case "(":
		p.pos++
		n, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek(0) != ")" {
			return nil, errors.New("capture filter: missing )")
		}
		p.pos++
		return n, nil
	case ")", "and", "or":
		return nil, fmt.Errorf("capture filter: unexpected %q", t)
	}
	return p.primitive()
}

var unsupportedWords = map[string]string{
	"ether": "ether (MAC) primitives", "gateway": "gateway", "broadcast": "broadcast", "multicast": "multicast",
	"proto": "proto", "protochain": "protochain", "len": "len (use less/greater)", "inbound": "inbound", "outbound": "outbound",
	"ifname": "ifname", "on": "on", "rnr": "rnr", "rulenum": "rulenum", "reason": "reason", "rset": "rset", "srnr": "srnr",
	"subrulenum": "subrulenum", "action": "action", "mpls": "mpls", "pppoed": "pppoed", "pppoes": "pppoes", "geneve": "geneve",
	"vxlan": "vxlan", "rarp": "rarp", "atalk": "atalk", "aarp": "aarp", "decnet": "decnet", "iso": "iso", "stp": "stp",
	"ipx": "ipx", "netbeui": "netbeui", "lat": "lat", "moprc": "moprc", "mopdl": "mopdl", "fddi": "fddi", "tr": "tr",
	"wlan": "wlan", "type": "type", "subtype": "subtype", "dir": "dir", "llc": "llc", "ra": "ra", "ta": "ta", "addr1": "addr1",
	"addr2": "addr2", "addr3": "addr3", "addr4": "addr4", "clnp": "clnp", "esis": "esis", "isis": "isis", "igmp": "igmp",
	"igrp": "igrp", "pim": "pim", "vrrp": "vrrp", "carp": "carp", "ah": "ah", "esp": "esp", "icmp6type": "icmp6type",
	"icmptype": "icmptype", "tcpflags": "tcpflags", "hopopt": "hopopt", "radio": "radio", "slip": "slip", "link": "link",
	"ppp": "ppp", "fr": "fr", "lane": "lane", "oamf4": "oamf4", "metac": "metac", "bcc": "bcc", "sc": "sc", "ilmic": "ilmic",
	"connectmsg": "connectmsg", "metaconnect": "metaconnect", "vpi": "vpi", "vci": "vci", "hdlc": "hdlc", "ip6multicast": "multicast",
}

var protoWords = map[string]bool{"ip": true, "ip6": true, "tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true, "arp": true}
var typeWords = map[string]bool{"host": true, "net": true, "port": true, "portrange": true}

func unsupported(word string) error {
	return fmt.Errorf("capture filter: %q is %w (supported: %s)", word, ErrFilterUnsupported, FilterSubset)
}

func (p *filterParser) primitive() (*fnode, error) {
	t := p.peek(0)
	if what, bad := unsupportedWords[t]; bad {
		return nil, unsupported(what)
	}
	switch t {
	case "less", "greater":
		p.pos++
		n, err := p.number(0, 1<<31)
		if err != nil {
			return nil, fmt.Errorf("capture filter: %s: %w", t, err)
		}
		ld := bpf.LoadExtension{Num: bpf.ExtLen}
		if t == "less" { // len <= n
			return not(test(atom{load: ld, cmp: bpf.JumpGreaterThan, k: n})), nil
		}
		return test(atom{load: ld, cmp: bpf.JumpGreaterOrEqual, k: n}), nil
	case "vlan":
		p.pos++
		n := test(atom{load: bpf.LoadExtension{Num: bpf.ExtVLANTagPresent}, cmp: bpf.JumpGreaterThan, k: 0})
		if v := p.peek(0); v != "" && v[0] >= '0' && v[0] <= '9' {
			id, err := p.number(0, 4095)
			if err != nil {
				return nil, fmt.Errorf("capture filter: vlan: %w", err)
			}
			n = and(n, test(atom{load: bpf.LoadExtension{Num: bpf.ExtVLANTag}, mask: 0xfff, cmp: bpf.JumpEqual, k: id}))
		}
		p.last = nil
		return n, nil
	}

	var q quals
	explicit := false
	if protoWords[t] {
		q.proto = t
		p.pos++
		explicit = true
	}
	switch p.peek(0) {
	case "src", "dst":
		q.dir = p.peek(0)
		p.pos++
		explicit = true
		// "src or dst" / "src and dst" as one qualifier, when a type or a
		// value follows (not "src host a or dst host b").
		other := map[string]string{"src": "dst", "dst": "src"}[q.dir]
		if (p.peek(0) == "or" || p.peek(0) == "and") && p.peek(1) == other && (typeWords[p.peek(2)] || isValue(p.peek(2))) {
			q.dir = "src " + p.peek(0) + " dst"
			p.pos += 2
		}
	}
	if typeWords[p.peek(0)] {
		q.typ = p.peek(0)
		p.pos++
		explicit = true
	}
	if what, bad := unsupportedWords[p.peek(0)]; bad && explicit {
		return nil, unsupported(what)
	}
	if !explicit {
		// A bare value repeats the previous primitive's qualifiers.
		if !isValue(t) {
			return nil, fmt.Errorf("capture filter: %q is %w (supported: %s)", t, ErrFilterUnsupported, FilterSubset)
		}
		if p.last == nil {
			if _, err := netip.ParseAddr(t); err != nil {
				if _, err := netip.ParsePrefix(t); err != nil {
					if _, err := strconv.ParseUint(t, 10, 32); err == nil {
						return nil, fmt.Errorf("capture filter: %q needs a qualifier (host, net, port...)", t)
					}
					return nil, fmt.Errorf("capture filter: %q is %w (host names are not resolved; supported: %s)", t, ErrFilterUnsupported, FilterSubset)
				}
			}
			q = quals{typ: "host"}
		} else {
			q = *p.last
		}
	}
	if q.typ == "" && q.dir != "" {
		q.typ = "host"
	}
	if q.typ == "" {
		// A protocol alone: "tcp", "ip6".
		p.last = nil
		return protoTest(q.proto), nil
	}
	v := p.peek(0)
	if v == "" || !isValue(v) {
		if v == "" {
			return nil, fmt.Errorf("capture filter: %s needs a value", q.typ)
		}
		return nil, fmt.Errorf("capture filter: %q is not a valid %s value (names are not resolved: give addresses and port numbers)", v, q.typ)
	}
	p.pos++
	qq := q
	p.last = &qq
	switch q.typ {
	case "host", "net":
		if q.proto != "" && q.proto != "ip" && q.proto != "ip6" {
			return nil, fmt.Errorf("capture filter: '%s %s' %w (use '%s and %s ...')", q.proto, q.typ, ErrFilterUnsupported, q.proto, q.typ)
		}
		pfx, err := p.netValue(q.typ, v)
		if err != nil {
			return nil, err
		}
		if q.proto == "ip" && !pfx.Addr().Is4() || q.proto == "ip6" && pfx.Addr().Is4() {
			return nil, fmt.Errorf("capture filter: %s %s %s: address family does not match", q.proto, q.typ, v)
		}
		return dirs(q.dir, func(src bool) *fnode { return addrTest(pfx, src) }), nil
	case "port", "portrange":
		switch q.proto {
		case "", "tcp", "udp", "sctp", "ip", "ip6":
		default:
			return nil, fmt.Errorf("capture filter: '%s %s' %w", q.proto, q.typ, ErrFilterUnsupported)
		}
		lo, hi, err := portValue(q.typ, v)
		if err != nil {
			return nil, err
		}
		return dirs(q.dir, func(src bool) *fnode { return portTest(q.proto, src, lo, hi) }), nil
	}
	return nil, fmt.Errorf("capture filter: %q %w", q.typ, ErrFilterUnsupported)
}

func isValue(s string) bool {
	if s == "" {
		return false
	}
	if _, ok := unsupportedWords[s]; ok {
		return false
	}
	if protoWords[s] || typeWords[s] {
		return false
	}
	switch s {
	case "and", "or", "not", "(", ")", "src", "dst", "vlan", "less", "greater", "mask":
		return false
	}
	return true
}

func (p *filterParser) number(lo, hi uint64) (uint32, error) {
	s := p.peek(0)
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
	}
	p.pos++
	return uint32(v), nil
}

func (p *filterParser) netValue(typ, v string) (netip.Prefix, error) {
	if typ == "host" {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("capture filter: host %q: not an IPv4 or IPv6 address (names are not resolved)", v)
		}
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if pf, err := netip.ParsePrefix(v); err == nil {
		return pf.Masked(), nil
	}
	if p.peek(0) == "mask" {
		p.pos++
		a, err1 := netip.ParseAddr(v)
		m, err2 := netip.ParseAddr(p.peek(0))
		if err1 != nil || err2 != nil || !a.Is4() || !m.Is4() {
			return netip.Prefix{}, fmt.Errorf("capture filter: net %s mask %s: want IPv4 address and mask", v, p.peek(0))
		}
		p.pos++
		mb := m.As4()
		mv := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
		bits := 0
		for bits < 32 && mv&(1<<(31-bits)) != 0 {
			bits++
		}
		if bits < 32 && mv<<bits != 0 {
			return netip.Prefix{}, fmt.Errorf("capture filter: mask %s is not contiguous", m)
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	if a, err := netip.ParseAddr(v); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	// "net 10", "net 10.1", "net 10.1.2": the octets given.
	parts := strings.Split(v, ".")
	if len(parts) >= 1 && len(parts) <= 3 {
		var b [4]byte
		ok := true
		for i, s := range parts {
			n, err := strconv.ParseUint(s, 10, 8)
			if err != nil {
				ok = false
				break
			}
			b[i] = byte(n)
		}
		if ok {
			return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts)), nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("capture filter: net %q: not an address or prefix (names are not resolved)", v)
}

func portValue(typ, v string) (uint32, uint32, error) {
	parse := func(s string) (uint32, error) {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("capture filter: %s %q: not a port number 0-65535 (service names are not resolved)", typ, v)
		}
		return uint32(n), nil
	}
	if typ == "port" {
		n, err := parse(v)
		return n, n, err
	}
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return 0, 0, fmt.Errorf("capture filter: portrange %q: want LOW-HIGH", v)
	}
	lo, err := parse(a)
	if err != nil {
		return 0, 0, err
	}
	hi, err := parse(b)
	if err != nil {
		return 0, 0, err
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, nil
}

// dirs applies a direction qualifier.
func dirs(dir string, mk func(src bool) *fnode) *fnode {
	switch dir {
	case "src":
		return mk(true)
	case "dst":
		return mk(false)
	case "src and dst":
		return and(mk(true), mk(false))
	}
	return or(mk(true), mk(false))
}

// ---- predicates, as trees of atoms; nh is the network header offset ----

// Offsets are filled in by the code generator for the link type: the
// atoms below use offsets relative to the network header, marked by
// netRel, and the ethertype atoms are special.
const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
	etherARP  = 0x0806
)

// Relative loads: the generator adds the network header offset. A
// LoadAbsolute with Off >= relBase is network-relative.
const relBase = 1 << 20

func nhAbs(off uint32, size int) bpf.Instruction {
	return bpf.LoadAbsolute{Off: relBase + off, Size: size}
}

// family tests the network protocol: an ethertype on Ethernet, the
// version nibble on raw IP (the generator decides; here a marker atom).
func family(ethertype uint32) *fnode {
	return test(atom{load: bpf.LoadAbsolute{Off: 12, Size: 2}, cmp: bpf.JumpEqual, k: ethertype})
}

func protoTest(proto string) *fnode {
	switch proto {
	case "ip":
		return family(etherIPv4)
	case "ip6":
		return family(etherIPv6)
	case "arp":
		return family(etherARP)
	case "tcp":
		return l4(6)
	case "udp":
		return l4(17)
	case "sctp":
		return l4(132)
	case "icmp":
		return and(family(etherIPv4), test(atom{load: nhAbs(9, 1), cmp: bpf.JumpEqual, k: 1}))
	case "icmp6":
		return and(family(etherIPv6), test(atom{load: nhAbs(6, 1), cmp: bpf.JumpEqual, k: 58}))
	}
	return nil
}

func l4(n uint32) *fnode {
	return or(and(family(etherIPv4), test(atom{load: nhAbs(9, 1), cmp: bpf.JumpEqual, k: n})),
		and(family(etherIPv6), test(atom{load: nhAbs(6, 1), cmp: bpf.JumpEqual, k: n})))
}

func addrTest(pfx netip.Prefix, src bool) *fnode {
	a := pfx.Addr()
	if a.Is4() {
		off := uint32(16)
		if src {
			off = 12
		}
		b := a.As4()
		return and(family(etherIPv4), wordTest(off, b[:], pfx.Bits()))
	}
	off := uint32(24)
	if src {
		off = 8
	}
	b := a.As16()
	return and(family(etherIPv6), wordTest(off, b[:], pfx.Bits()))
}

// wordTest compares the first bits of the address at network offset off.
func wordTest(off uint32, addr []byte, bits int) *fnode {
	var n *fnode
	for w := 0; w*32 < bits; w++ {
		v := uint32(addr[4*w])<<24 | uint32(addr[4*w+1])<<16 | uint32(addr[4*w+2])<<8 | uint32(addr[4*w+3])
		mask := uint32(0xffffffff)
		if rem := bits - w*32; rem < 32 {
			mask = ^uint32(0) << (32 - rem)
		}
		at := atom{load: nhAbs(off+uint32(4*w), 4), cmp: bpf.JumpEqual, k: v & mask}
		if mask != 0xffffffff {
			at.mask = mask
		}
		n = and(n, test(at))
	}
	if n == nil { // net 0.0.0.0/0: any packet of the family
		return nil
	}
	return n
}

func portTest(proto string, src bool, lo, hi uint32) *fnode {
	off := uint32(2)
	if src {
		off = 0
	}
	var protos []uint32
	switch proto {
	case "tcp":
		protos = []uint32{6}
	case "udp":
		protos = []uint32{17}
	case "sctp":
		protos = []uint32{132}
	default:
		protos = []uint32{6, 17, 132}
	}
	anyOf := func(off uint32) *fnode {
		var n *fnode
		for _, p := range protos {
			n = or(n, test(atom{load: nhAbs(off, 1), cmp: bpf.JumpEqual, k: p}))
		}
		return n
	}
	rng := func(ld bpf.Instruction, msh uint32) *fnode {
		if lo == hi {
			return test(atom{load: ld, msh: msh, cmp: bpf.JumpEqual, k: lo})
		}
		return and(test(atom{load: ld, msh: msh, cmp: bpf.JumpGreaterOrEqual, k: lo}),
			not(test(atom{load: ld, msh: msh, cmp: bpf.JumpGreaterThan, k: hi})))
	}
	// IPv4: first fragment only (later ones carry no ports), ports after
	// the IHL-sized header.
	v4 := and(and(family(etherIPv4), anyOf(9)),
		and(not(test(atom{load: nhAbs(6, 2), cmp: bpf.JumpBitsSet, k: 0x1fff})),
			rng(bpf.LoadIndirect{Off: relBase + off, Size: 2}, 1)))
	// IPv6: ports right after the fixed header (no extension headers).
	v6 := and(and(family(etherIPv6), anyOf(6)), rng(nhAbs(40+off, 2), 0))
	switch proto {
	case "ip":
		return v4
	case "ip6":
		return v6
	}
	return or(v4, v6)
}

// ---- code generation ----

type pinsn struct {
	ins    bpf.Instruction
	jt, jf int // labels of a conditional jump
	cond   bool
}

type codegen struct {
	raw    bool
	prog   []pinsn
	labels []int
}

func (g *codegen) label() int {
	g.labels = append(g.labels, -1)
	return len(g.labels) - 1
}

func (g *codegen) place(l int) { g.labels[l] = len(g.prog) }

func (g *codegen) emit(i bpf.Instruction) { g.prog = append(g.prog, pinsn{ins: i}) }

func (g *codegen) jump(cmp bpf.JumpTest, k uint32, t, f int) {
	g.prog = append(g.prog, pinsn{ins: bpf.JumpIf{Cond: cmp, Val: k}, jt: t, jf: f, cond: true})
}

func (g *codegen) node(n *fnode, t, f int) {
	if n == nil { // an empty conjunct: always true
		g.prog = append(g.prog, pinsn{ins: bpf.Jump{}, jt: t, cond: false})
		g.prog[len(g.prog)-1].jf = -2 // marks an unconditional jump to jt
		return
	}
	switch n.op {
	case '&':
		mid := g.label()
		g.node(n.a, mid, f)
		g.place(mid)
		g.node(n.b, t, f)
	case '|':
		mid := g.label()
		g.node(n.a, t, mid)
		g.place(mid)
		g.node(n.b, t, f)
	case '!':
		g.node(n.a, f, t)
	default:
		g.atom(n.t, t, f)
	}
}

func (g *codegen) atom(a atom, t, f int) {
	nh := uint32(14)
	if g.raw {
		nh = 0
	}
	load := a.load
	if ld, ok := load.(bpf.LoadAbsolute); ok && ld.Off == 12 && ld.Size == 2 && a.cmp == bpf.JumpEqual && !isRel(ld.Off) {
		// A family test.
		if g.raw {
			switch a.k {
			case etherIPv4, etherIPv6:
				g.emit(bpf.LoadAbsolute{Off: 0, Size: 1})
				g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
				v := uint32(0x40)
				if a.k == etherIPv6 {
					v = 0x60
				}
				g.jump(bpf.JumpEqual, v, t, f)
			default: // no ARP on a raw IP link
				g.prog = append(g.prog, pinsn{ins: bpf.Jump{}, jt: f, jf: -2})
			}
			return
		}
	}
	switch ld := load.(type) {
	case bpf.LoadAbsolute:
		if isRel(ld.Off) {
			ld.Off = ld.Off - relBase + nh
		}
		load = ld
	case bpf.LoadIndirect:
		if isRel(ld.Off) {
			ld.Off = ld.Off - relBase + nh
		}
		load = ld
	}
	if a.msh != 0 {
		g.emit(bpf.LoadMemShift{Off: nh + a.msh - 1})
	}
	g.emit(load)
	if a.mask != 0 {
		g.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: a.mask})
	}
	g.jump(a.cmp, a.k, t, f)
}

func isRel(off uint32) bool { return off >= relBase }

func (g *codegen) assemble() ([]bpf.RawInstruction, error) {
	if len(g.prog) > maxFilterInsn {
		return nil, fmt.Errorf("capture filter too long: %d instructions (at most %d)", len(g.prog), maxFilterInsn)
	}
	out := make([]bpf.Instruction, len(g.prog))
	for i, p := range g.prog {
		switch {
		case p.cond:
			jt, jf := g.labels[p.jt]-i-1, g.labels[p.jf]-i-1
			if jt < 0 || jf < 0 {
				return nil, errors.New("capture filter: internal error (backward jump)")
			}
			if jt > 255 || jf > 255 {
				return nil, fmt.Errorf("capture filter too complex: a jump spans %d instructions (classic BPF allows 255); split it or use fewer alternatives", max(jt, jf))
			}
			j := p.ins.(bpf.JumpIf)
			out[i] = bpf.JumpIf{Cond: j.Cond, Val: j.Val, SkipTrue: uint8(jt), SkipFalse: uint8(jf)}
		case p.jf == -2:
			out[i] = bpf.Jump{Skip: uint32(g.labels[p.jt] - i - 1)}
		default:
			out[i] = p.ins
		}
	}
	raw, err := bpf.Assemble(out)
	if err != nil {
		return nil, fmt.Errorf("capture filter: %w", err)
	}
	return raw, nil
}
