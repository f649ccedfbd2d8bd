package classify

// classifyUDP looks at the first datagrams in arrival order. STUN anywhere in
// the window wins over media (ICE checks precede and interleave with SRTP on
// one 5-tuple); otherwise the first decisive datagram decides.
func classifyUDP(in *Input, r *Result) {
	final := in.C2SClosed && in.S2CClosed || len(in.Datagrams) >= MaxDatagrams
	var m STUNMessage
	for i := range in.Datagrams {
		d := &in.Datagrams[i]
		if udpSTUN(d, &m, r) {
			for j := i + 1; j < len(in.Datagrams); j++ {
				var n STUNMessage
				if ParseSTUN(in.Datagrams[j].Data, &n) {
					r.STUN.Messages++
					r.STUN.ICE = r.STUN.ICE || n.ICE
				} else if Demux(in.Datagrams[j].Data) == DemuxChannel {
					var cd ChannelData
					r.STUN.ChannelData = r.STUN.ChannelData || ParseChannelData(in.Datagrams[j].Data, &cd)
				}
			}
			if r.STUN.ICE && !r.STUN.First.ICE && r.STUN.Variant == VariantRFC5389 {
				r.Detail, r.Why = "rfc5389/ice", "STUN with magic cookie 2112A442 and MS-ICE2 attributes (0x8054/0x8070)"
			}
			return
		}
	}
	var trk, chTrk [2]RTPTracker
	var cd ChannelData
	var h RTPHeader
	var rc RTCPInfo
	candidates := false
	for i := range in.Datagrams {
		d := &in.Datagrams[i]
		b := d.Data
		switch {
		case ParseRTCP(b, &rc):
			r.RTP = RTPInfo{RTCP: true, RTCPPT: rc.FirstType, SSRC: rc.SSRC}
			decide(r, RTP, "rtcp", "RTCP compound packet: version 2, first type 200-207, lengths tile the datagram")
			return
		case ParseChannelData(b, &cd) && ParseRTP(cd.Data, &h):
			// TURN ChannelData carrying one RTP stream: the allocation was
			// made before the capture started.
			candidates = true
			t := &chTrk[0]
			if d.ToServer {
				t = &chTrk[1]
			}
			if t.Add(&h); t.Confirmed() {
				r.STUN.ChannelData = true
				r.RTP = RTPInfo{RTP: true, PT: h.PayloadType, SSRC: h.SSRC, Packets: t.Run}
				decide(r, STUN, "turn-channel", "TURN ChannelData (0x4000-0x7FFF, exact length) carrying continuous RTP over 3 packets")
				return
			}
		case udpSIP(d, r):
			return
		case udpDNS(in, d, r):
			return
		case ParseRTP(b, &h):
			candidates = true
			t := &trk[0]
			if d.ToServer {
				t = &trk[1]
			}
			if t.Add(&h); t.Confirmed() {
				r.RTP = RTPInfo{RTP: true, PT: h.PayloadType, SSRC: h.SSRC, Packets: t.Run}
				decide(r, RTP, "rtp", "RTP version 2 with one SSRC and continuous sequence numbers over 3 packets")
				return
			}
		}
	}
	if final || len(in.Datagrams) > 0 && !candidates && (in.C2SClosed || in.S2CClosed) {
		decide(r, Unknown, "", "datagrams match no known protocol signature")
		return
	}
	if !candidates && len(in.Datagrams) >= 4 {
		decide(r, Unknown, "", "datagrams match no known protocol signature")
	}
}

// udpSTUN decides on a STUN datagram, or an FF10 frame holding STUN.
func udpSTUN(d *Datagram, m *STUNMessage, r *Result) bool {
	b := d.Data
	var x MSMux
	mux := false
	if ParseMSMux(b, &x) {
		b, mux = x.Data, true
	}
	if !ParseSTUN(b, m) {
		return false
	}
	r.STUN.First = *m
	r.STUN.Variant, r.STUN.ICE, r.STUN.Messages, r.STUN.MSMux = m.Variant, m.ICE, 1, mux
	// The client is the sender of the first request; responses point the other way.
	if (m.Class == ClassRequest) != d.ToServer && m.Class != ClassIndication {
		r.Reversed = true
	}
	if mux {
		decide(r, STUN, "ms-turn/mux", "MS multiplexed TURN frame (FF 10, [MS-TURN] 2.2.3) holding a STUN message")
		return true
	}
	stunDecide(r, m)
	return true
}

func udpSIP(d *Datagram, r *Result) bool {
	if !ParseSIPDatagram(d.Data, &r.SIP) {
		r.SIP = SIPInfo{}
		return false
	}
	if r.SIP.Request != d.ToServer {
		r.Reversed = true
	}
	decide(r, SIP, "sip/udp", "SIP start line in a UDP datagram")
	return true
}

func udpDNS(in *Input, d *Datagram, r *Result) bool {
	if !ParseDNS(d.Data, &r.DNS, r.qname[:]) {
		r.DNS = DNSInfo{}
		return false
	}
	r.qnameLen = min(r.DNS.NameLen, len(r.qname))
	if r.DNS.Response == d.ToServer {
		r.Reversed = true
	}
	switch {
	case in.ServerPort == 5353 || in.ClientPort == 5353:
		// Same wire format, but multicast DNS is not a service edgeaudit audits.
		decide(r, Unknown, "mdns", "DNS message format on port 5353: multicast DNS")
	case in.ServerPort == 5355 || in.ClientPort == 5355:
		decide(r, Unknown, "llmnr", "DNS message format on port 5355: LLMNR")
	default:
		decide(r, DNS, "dns", "DNS header with one complete question")
	}
	return true
}
