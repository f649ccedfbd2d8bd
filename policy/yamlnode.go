package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yfile reads one YAML file into nodes and reports every error as
// "file:line:column: message". It never uses reflection-based decoding, so
// unknown keys, duplicate keys and wrong types are all caught with a position.
type yfile struct {
	name string
	data []byte
	errs []error
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse returns the root node of the single document in the file.
func (y *yfile) parse() (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(y.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:1:1: the file is empty", y.name)
		}
		return nil, y.syntaxErr(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d:%d: only one YAML document is allowed", y.name, extra.Line, extra.Column)
	} else if !errors.Is(err, io.EOF) {
		return nil, y.syntaxErr(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%s:1:1: the file holds no YAML document", y.name)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, y.at(root, "the top level must be a mapping of keys to values")
	}
	return root, nil
}

// syntaxErr turns the YAML library's "yaml: line N: msg" into file:line:col,
// taking the column of the first non-blank character of that line because
// the library reports only the line.
func (y *yfile) syntaxErr(err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col := y.firstColumn(line)
		if strings.Contains(m[2], "tab") {
			line, col = y.findTab(line)
		}
		return fmt.Errorf("%s:%d:%d: YAML syntax: %s", y.name, line, col, m[2])
	}
	return fmt.Errorf("%s:1:1: YAML syntax: %s", y.name, strings.TrimPrefix(msg, "yaml: "))
}

// findTab locates the first tab in a line's indentation at or after line
// (the library reports tab errors on the line before).
func (y *yfile) findTab(line int) (int, int) {
	lines := bytes.Split(y.data, []byte("\n"))
	for i := max(line-1, 0); i < len(lines); i++ {
		l := lines[i]
		indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if j := bytes.IndexByte(indent, '\t'); j >= 0 {
			return i + 1, j + 1
		}
	}
	return line, y.firstColumn(line)
}

func (y *yfile) firstColumn(line int) int {
	lines := bytes.Split(y.data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 1
	}
	l := lines[line-1]
	return len(l) - len(bytes.TrimLeft(l, " \t")) + 1
}

func (y *yfile) at(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d:%d: %s", y.name, n.Line, n.Column, fmt.Sprintf(format, args...))
}

// fail records an error and goes on, so that one run reports every mistake.
func (y *yfile) fail(n *yaml.Node, format string, args ...any) {
	y.errs = append(y.errs, y.at(n, format, args...))
}

func (y *yfile) err() error { return errors.Join(y.errs...) }

func (y *yfile) pos(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", y.name, n.Line, n.Column) }

// kv is one key of a mapping with its value.
type kv struct {
	key, val *yaml.Node
}

// mapping checks that n is a mapping whose keys are all in allowed and
// unique, and returns the entries by key.
func (y *yfile) mapping(n *yaml.Node, what string, allowed ...string) map[string]kv {
	if n.Kind == yaml.AliasNode {
		y.fail(n, "%s: YAML aliases are not supported", what)
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return map[string]kv{}
	}
	if n.Kind != yaml.MappingNode {
		y.fail(n, "%s must be a mapping (key: value lines)", what)
		return nil
	}
	out := make(map[string]kv, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			y.fail(k, "%s: keys must be plain words", what)
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			y.fail(k, "%s: unknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		if prev, dup := out[k.Value]; dup {
			y.fail(k, "%s: key %q is already set at line %d", what, k.Value, prev.key.Line)
			continue
		}
		if v.Kind == yaml.AliasNode {
			y.fail(v, "%s.%s: YAML aliases are not supported", what, k.Value)
			continue
		}
		out[k.Value] = kv{k, v}
	}
	return out
}

// seq returns the items of a sequence; a null value is an empty list and,
// when single is set, a lone scalar is a one-item list.
func (y *yfile) seq(n *yaml.Node, what string, single bool) []*yaml.Node {
	switch {
	case n.Kind == yaml.SequenceNode:
		for _, it := range n.Content {
			if it.Kind == yaml.AliasNode {
				y.fail(it, "%s: YAML aliases are not supported", what)
				return nil
			}
		}
		return n.Content
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil
	case n.Kind == yaml.ScalarNode && single:
		return []*yaml.Node{n}
	}
	y.fail(n, "%s must be a list ([a, b] or one \"- item\" per line)", what)
	return nil
}

func (y *yfile) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		y.fail(n, "%s must be a single value", what)
		return "", false
	}
	return n.Value, true
}

func (y *yfile) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		y.fail(n, "%s must be true or false", what)
		return false, false
	}
	b, err := strconv.ParseBool(strings.ToLower(n.Value))
	if err != nil {
		// YAML 1.1 spellings (yes/no/on/off) resolve to !!bool but not to ParseBool.
		switch strings.ToLower(n.Value) {
		case "yes", "on", "y":
			return true, true
		case "no", "off", "n":
			return false, true
		}
		y.fail(n, "%s must be true or false", what)
		return false, false
	}
	return b, true
}

func (y *yfile) integer(n *yaml.Node, what string) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		y.fail(n, "%s must be a whole number", what)
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		y.fail(n, "%s: %q is not a whole number", what, n.Value)
		return 0, false
	}
	return v, true
}

// addr reads one IP address (no prefix).
func (y *yfile) addr(n *yaml.Node, what string) (netip.Addr, bool) {
	s, ok := y.str(n, what)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		y.fail(n, "%s: %q is not an IPv4 or IPv6 address", what, s)
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// addrs reads one address or a list of them.
func (y *yfile) addrs(n *yaml.Node, what string) []netip.Addr {
	var out []netip.Addr
	for _, it := range y.seq(n, what, true) {
		if a, ok := y.addr(it, what); ok {
			out = append(out, a)
		}
	}
	return out
}

// prefixes reads a list of addresses and CIDR prefixes; a lone address
// becomes a single-address prefix.
func (y *yfile) prefixes(n *yaml.Node, what string) ([]netip.Prefix, []*yaml.Node) {
	var out []netip.Prefix
	var nodes []*yaml.Node
	for _, it := range y.seq(n, what, true) {
		s, ok := y.str(it, what)
		if !ok {
			continue
		}
		p, err := parsePrefix(s)
		if err != nil {
			y.fail(it, "%s: %v", what, err)
			continue
		}
		out = append(out, p)
		nodes = append(nodes, it)
	}
	return out, nodes
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			if !p.IsValid() {
				return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
			}
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// macs reads a list of EUI-48 MAC addresses.
func (y *yfile) macs(n *yaml.Node, what string) [][6]byte {
	var out [][6]byte
	for _, it := range y.seq(n, what, true) {
		s, ok := y.str(it, what)
		if !ok {
			continue
		}
		hw, err := net.ParseMAC(s)
		if err != nil || len(hw) != 6 {
			y.fail(it, "%s: %q is not a 6-byte MAC address (like 00:1b:21:3c:4d:5e)", what, s)
			continue
		}
		out = append(out, [6]byte(hw))
	}
	return out
}
