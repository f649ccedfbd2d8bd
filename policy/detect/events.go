package detect

import (
	"net/netip"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/flows/classify"
)

// ReflexiveAttr names the attribute a reflexive address was read from.
type ReflexiveAttr uint8

// Reflexive address attributes.
const (
	ReflexiveNone   ReflexiveAttr = iota
	ReflexiveXOR                  // XOR-MAPPED-ADDRESS 0x0020
	ReflexiveMSXOR                // MS XOR-MAPPED-ADDRESS 0x8020 (XOR with txid word 0)
	ReflexiveMapped               // MAPPED-ADDRESS 0x0001 (classic STUN)
)

// STUNEvent is one STUN/MS-TURN message, copied out of the flow and the
// parser's buffers: safe to batch and send between goroutines.
type STUNEvent struct {
	Point     int32
	Proto     uint8 // decode.ProtoUDP or decode.ProtoTCP
	Frame     uint64
	Time      int64
	FlowFrame uint64 // the flow's first frame (its id with Point)
	Src, Dst  netip.AddrPort
	TxID      [16]byte // header bytes 4-19
	Type      uint16
	Class     classify.STUNClass
	Method    uint16
	Variant   classify.STUNVariant
	// Answer expected: a request other than MS-TURN Send 0x0004.
	ExpectsAnswer bool
	// Reflexive is the address an answer says the request came from:
	// XOR-MAPPED (0x0020 or MS 0x8020), else MAPPED for classic STUN (in
	// an MS-TURN Allocate success MAPPED is the relay, not this).
	Reflexive   netip.AddrPort
	ReflexiveAs ReflexiveAttr // which attribute Reflexive came from
	Relay       netip.AddrPort
	HasUser     bool
	UserHash    uint64
	HasConnID   bool
	ConnIDHash  uint64
}

// Wanted reports whether the detectors use a STUN message: requests that
// expect an answer, and answers. Indications, MS-TURN Send requests
// (0x0004, the bulk of relayed media) and Data Indications (0x0115) are
// never answered by design; sharded workers need not send them.
func Wanted(m *classify.STUNMessage) bool {
	return m.Class == classify.ClassSuccess || m.Class == classify.ClassError || m.ExpectsAnswer()
}

// MakeSTUNEvent copies what the detectors need from a STUN message of flow f.
func MakeSTUNEvent(f *flows.Flow, dir flows.Dir, frame uint64, t int64, m *classify.STUNMessage) STUNEvent {
	e := STUNEvent{
		Point: int32(f.Point), Proto: f.Proto, Frame: frame, Time: t, FlowFrame: f.FirstFrame,
		TxID: m.TxID, Type: m.Type, Class: m.Class, Method: m.Method, Variant: m.Variant,
		ExpectsAnswer: m.ExpectsAnswer(),
		HasUser:       m.HasUsername, UserHash: m.UsernameHash,
	}
	if dir == flows.C2S {
		e.Src, e.Dst = f.Client.AddrPort(), f.Server.AddrPort()
	} else {
		e.Src, e.Dst = f.Server.AddrPort(), f.Client.AddrPort()
	}
	if m.Class == classify.ClassSuccess {
		switch {
		case m.XORMapped.IsValid():
			e.Reflexive = m.XORMapped
			e.ReflexiveAs = ReflexiveXOR
			if m.XORMappedMS {
				e.ReflexiveAs = ReflexiveMSXOR
			}
			if m.Mapped.IsValid() && m.Method == classify.MethodAllocate {
				e.Relay = m.Mapped
			}
		case m.Mapped.IsValid() && !(m.Method == classify.MethodAllocate && m.Variant == classify.VariantMSTURN):
			e.Reflexive = m.Mapped
			e.ReflexiveAs = ReflexiveMapped
		case m.Mapped.IsValid():
			e.Relay = m.Mapped
		}
		if m.XORRelayed.IsValid() {
			e.Relay = m.XORRelayed
		}
	}
	if m.HasMSSeq {
		e.HasConnID = true
		h := uint64(14695981039346656037)
		for _, b := range m.MSConnID {
			h = (h ^ uint64(b)) * 1099511628211
		}
		e.ConnIDHash = h
	}
	return e
}

// TCPEvent is a TCP control packet (SYN, SYN-ACK or RST).
type TCPEvent struct {
	Point     int32
	Frame     uint64
	Time      int64
	FlowFrame uint64
	Src, Dst  netip.AddrPort
	Flags     uint8
	Seq, Ack  uint32
	HasMAC    bool
	SrcMAC    [6]byte
	DstMAC    [6]byte
}

// MakeTCPEvent copies a TCP packet's control fields.
func MakeTCPEvent(f *flows.Flow, p *decode.Packet) TCPEvent {
	e := TCPEvent{Point: int32(p.Point), Frame: p.Frame, Time: p.Time,
		Src: netip.AddrPortFrom(p.Src, p.SrcPort), Dst: netip.AddrPortFrom(p.Dst, p.DstPort),
		Flags: p.TCPFlags, Seq: p.Seq, Ack: p.Ack, HasMAC: p.HasMAC, SrcMAC: p.SrcMAC, DstMAC: p.DstMAC}
	if f != nil {
		e.FlowFrame = f.FirstFrame
	}
	return e
}

// ICMPEvent is an ICMP or ICMPv6 error and the datagram it quotes.
type ICMPEvent struct {
	Point      int32
	Frame      uint64
	Time       int64
	Src, Dst   netip.Addr
	Type, Code uint8
	V6         bool
	Inner      decode.InnerTuple
}

// MakeICMPEvent copies an ICMP error's fields.
func MakeICMPEvent(p *decode.Packet) ICMPEvent {
	return ICMPEvent{Point: int32(p.Point), Frame: p.Frame, Time: p.Time, Src: p.Src, Dst: p.Dst,
		Type: p.ICMPType, Code: p.ICMPCode, V6: p.Proto == decode.ProtoICMPv6, Inner: p.Inner}
}

// FlowEvent is a flow as it leaves the table.
type FlowEvent struct {
	ID             string // the report's flow id; "" derives it from Point and FirstFrame
	Point          int32
	Proto          uint8
	Client, Server netip.AddrPort
	FirstFrame     uint64
	First, Last    int64
	Packets        [2]uint64 // by flows.Dir
	PayloadBytes   [2]uint64
	DirFirst       [2]int64
	MAC            [2]flows.MACPair
	TCP            flows.TCPInfo
	App            classify.App
	PseudoTLS      bool
	ClientHello    bool
	ServerHello    bool
	DirLast        [2]int64
	// FirstData is the frame and time of the first payload packet of each
	// direction (0 when none); LastDataTime the time of the last.
	FirstData     [2]uint64
	FirstDataTime [2]int64
	LastDataTime  [2]int64
	// Silent* is the client's first payload packet after the server's
	// last one, and how many client payload packets followed: data one
	// way with only ACKs back.
	SilentFrom     uint64
	SilentFromTime int64
	SilentPackets  int
	EndReason      string
}

// MakeFlowEvent copies what the detectors need from a flow leaving the table.
func MakeFlowEvent(f *flows.Flow, id string) FlowEvent {
	e := FlowEvent{ID: id, Point: int32(f.Point), Proto: f.Proto,
		Client: f.Client.AddrPort(), Server: f.Server.AddrPort(), FirstFrame: f.FirstFrame,
		First: f.First, Last: f.Last, Packets: f.Packets, PayloadBytes: f.PayloadBytes, DirFirst: f.DirFirst,
		DirLast: f.DirLast, MAC: f.MAC, TCP: f.TCP, App: f.Label.App,
		PseudoTLS:   f.Label.PseudoTLS,
		ClientHello: f.Label.ClientHello, ServerHello: f.Label.ServerHello,
		EndReason: f.EndReason}
	dm := &f.Data
	e.FirstData, e.FirstDataTime, e.LastDataTime = dm.FirstFrame, dm.FirstTime, dm.LastTime
	e.SilentFrom, e.SilentFromTime, e.SilentPackets = dm.OneWayFrom, dm.OneWayTime, dm.OneWayPackets
	return e
}

// STUN observes one STUN/MS-TURN message (the flow table's STUN hook).
// Call it for every message, in both directions; the detector skips what
// is never answered by design itself.
func (d *Detector) STUN(f *flows.Flow, dir flows.Dir, frame uint64, t int64, m *classify.STUNMessage) {
	if !Wanted(m) {
		d.stats.STUNEvents++
		return
	}
	e := MakeSTUNEvent(f, dir, frame, t, m)
	d.ObserveSTUN(&e)
}

// TCP observes a TCP control packet: call it for packets with SYN or RST
// set (SYN, SYN-ACK, RST, RST-ACK); others are ignored cheaply.
func (d *Detector) TCP(f *flows.Flow, dir flows.Dir, p *decode.Packet) {
	if p.TCPFlags&(decode.TCPSyn|decode.TCPRst) == 0 {
		return
	}
	e := MakeTCPEvent(f, p)
	d.ObserveTCP(&e)
}

// ICMP observes an ICMP/ICMPv6 packet; only errors that quote a datagram
// (p.Inner.Valid) matter.
func (d *Detector) ICMP(p *decode.Packet) {
	if !p.Inner.Valid {
		return
	}
	e := MakeICMPEvent(p)
	d.ObserveICMP(&e)
}

// FlowEnd observes a flow leaving the table (the End hook); id is the
// report's flow id ("" derives it).
func (d *Detector) FlowEnd(f *flows.Flow, id string) {
	e := MakeFlowEvent(f, id)
	d.ObserveFlow(&e)
}
