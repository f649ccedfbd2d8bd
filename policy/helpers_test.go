package policy

import (
	"bytes"
	"net/netip"
	"os"
	"testing"
)

var hlbMAC = [6]byte{0x00, 0x00, 0x5e, 0x00, 0x01, 0x01}

func loadPool(t testing.TB, edit func(*Topology)) *Topology {
	t.Helper()
	topo, err := LoadTopology("testdata/pool2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(topo)
	}
	return topo
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mod changes a flow built by fl.
type mod func(*FlowFacts)

func tls(f *FlowFacts)    { f.TLS, f.HandshakeSeen = true, true; f.PayloadC2S, f.PayloadS2C = 500, 3000 }
func mtls(f *FlowFacts)   { tls(f); f.MutualTLS = true }
func pseudo(f *FlowFacts) { f.TLS, f.PseudoTLS = true, true; f.PayloadC2S, f.PayloadS2C = 50, 83 }
func unanswered(f *FlowFacts) {
	f.Answered, f.PacketsS2C, f.PayloadS2C = false, 0, 0
}
func viaHLB(f *FlowFacts) { f.HasMAC, f.ClientMAC = true, hlbMAC }
func sni(s string) mod    { return func(f *FlowFacts) { f.SNI = s } }
func payload(n uint64) mod {
	return func(f *FlowFacts) { f.PayloadC2S, f.PayloadS2C = n, 0 }
}

// fl builds an answered flow; proto is "tcp" or "udp".
func fl(proto, client, server, app string, mods ...mod) FlowFacts {
	f := FlowFacts{
		Transport:  6,
		Client:     netip.MustParseAddrPort(client),
		Server:     netip.MustParseAddrPort(server),
		App:        app,
		Answered:   true,
		PacketsC2S: 5, PacketsS2C: 5,
		PayloadC2S: 200, PayloadS2C: 200,
	}
	if proto == "udp" {
		f.Transport = 17
	}
	for _, m := range mods {
		m(&f)
	}
	return f
}

func has(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
