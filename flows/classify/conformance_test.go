package classify

import (
	"path/filepath"
	"testing"
)

// disagreements lists flows where edgeaudit's answer differs from Wireshark
// or nDPI (or they differ from each other), with the right answer and why.
// Key: capture name, then the endpoint pair as pairKey writes it.
var disagreements = map[string]map[string]struct {
	app App
	why string
}{
	"arkime__stun.pcap": {
		"10.0.0.12:3478 10.0.0.9:53633": {Unknown, "the datagram is the text \"RSP/2.0 STUN\\r\\ntoken:...\" (a proprietary firewall probe), not a STUN header: nDPI's STUN is wrong, Wireshark is right"},
	},
	"ndpi__jabber.pcap": {
		"172.16.0.62:57126 172.16.1.138:5222": {XMPP, "picked up mid-stream: </stream:stream>; Wireshark (port 5222) is right, nDPI needs the stream header"},
		"172.16.0.62:57129 172.16.1.138:5222": {XMPP, "picked up mid-stream: <iq> with a jabber.org namespace; Wireshark is right"},
		"172.16.0.62:57149 172.16.1.138:5222": {XMPP, "picked up mid-stream: <presence> with a jabber.org namespace; Wireshark is right"},
	},
	"ndpi__rtp.pcapng": {
		"10.204.220.171:6000 10.204.220.71:6000":     {RTP, "RTP v2 PT 34 (H.263), one SSRC, consecutive sequence numbers; nDPI is right, Wireshark's RTP heuristic is off by default"},
		"150.219.118.19:54234 192.113.193.227:50003": {RTP, "proprietary 74-byte hello then RTP v2 with a BE DE extension and one SSRC: media on a CLS port number is RTP, not CLS; both tools miss it"},
		"172.16.168.24:40252 172.16.168.64:5000":     {RTP, "RTP over TCP with RFC 4571 2-byte length framing (one SSRC, consecutive frames): neither tool looks for the framing"},
		"10.140.67.167:55402 148.153.85.97:6008":     {RTP, "a 16-byte hello then RTP v2 PT 111 with one SSRC and consecutive sequence numbers; Wireshark's heuristic is off"},
	},
	"ndpi__stun_tcp_multiple_msgs_same_pkt.pcap": {
		"166.172.142.131:3479 23.183.197.71:42849": {STUN, "bare RFC 5389 Allocates over TCP, several per segment; nDPI 4.2 misses STUN over TCP, Wireshark is right"},
	},
	"ndpi__tls_port_80.pcapng": {
		"132.49.141.56:80 57.91.202.194:50541": {TLS, "TLS ClientHello/ServerHello on port 80; nDPI is right, Wireshark only tries TLS on 80 with decode-as"},
	},
}

func TestConformanceCaptures(t *testing.T) {
	for _, path := range captureFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			refDir := filepath.Join(filepath.Dir(path), "..", "public-reference", name)
			ws := refFamilies(t, filepath.Join(refDir, "tshark_flows.tsv"), false)
			nd := refFamilies(t, filepath.Join(refDir, "ndpi_flows.tsv"), true)
			for _, f := range buildFlows(readCapture(t, path)) {
				k := pairKey(f.client.String(), f.server.String())
				wf, wok := ws[k]
				nf, nok := nd[k]
				wa, _ := familyApp(wf)
				na, _ := familyApp(nf)
				got := f.res.App
				t.Logf("%-55s ws=%-10s ndpi=%-10s got=%s/%s (%s) calls=%d decidedAt=%d", k, wf, nf, got, f.res.Detail, f.res.Why, f.calls, f.decidedAt)
				if d, ok := disagreements[name][k]; ok {
					if got != d.app {
						t.Errorf("%s: got %s, want %s (%s)", k, got, d.app, d.why)
					}
					continue
				}
				switch {
				case wok && nok && wa == na:
					if got != wa {
						t.Errorf("%s: got %s/%s, Wireshark and nDPI agree on %s", k, got, f.res.Detail, wa)
					}
				case wok && nok:
					t.Errorf("%s: Wireshark %s and nDPI %s disagree and no stated answer; got %s", k, wf, nf, got)
				case wok && got != wa:
					t.Errorf("%s: got %s, Wireshark (only reference) says %s", k, got, wa)
				case nok && got != na:
					t.Errorf("%s: got %s, nDPI (only reference) says %s", k, got, na)
				}
			}
		})
	}
}
