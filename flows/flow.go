package flows

import (
	"strconv"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows/classify"
)

// Dir is a packet's direction within its flow.
type Dir uint8

// Directions: from the client (the side that opened the conversation) and back.
const (
	C2S Dir = 0
	S2C Dir = 1
)

// Why a flow left the table, as Flow.EndReason says it.
const (
	EndFIN     = "fin"          // closed with FIN
	EndRST     = "rst"          // reset
	EndIdle    = "idle"         // no packet for the protocol's idle timeout
	EndEvicted = "evicted"      // the table was full and it was the oldest
	EndReused  = "reused"       // a new connection took its 5-tuple
	EndOfInput = "end-of-input" // still open when the capture ended
)

// EndReasons lists every EndReason value.
var EndReasons = [...]string{EndOfInput, EndIdle, EndFIN, EndRST, EndEvicted, EndReused}

func (d Dir) String() string {
	if d == C2S {
		return "c2s"
	}
	return "s2c"
}

// MACPair is the link-layer source and destination of a direction's first
// packet, and whether later packets of that direction used other MACs.
type MACPair struct {
	Seen     bool
	Src, Dst [6]byte
	Changed  bool
}

// TCPInfo is what the handshake and teardown showed; the cross-flow
// detectors pair SYNs and SYN-ACKs across flows with it.
type TCPInfo struct {
	SYN         bool   // a SYN from the client was seen
	ISN         uint32 // the client's initial sequence number
	SYNFrame    uint64
	SYNTime     int64
	SYNs        int // SYNs sent, retransmissions included
	SYNACK      bool
	ServerISN   uint32
	SYNACKAck   uint32
	SYNACKFrame uint64
	SYNACKTime  int64
	SYNACKs     int
	Established bool // the client acknowledged the SYN-ACK
	RST         [2]int
	FIN         [2]int
}

// Flow is one bidirectional TCP or UDP conversation at one capture point.
// The table reuses Flow values: hooks must copy what they keep.
type Flow struct {
	// What every packet reads or writes comes first, so that a UDP packet
	// touches the first five adjacent cache lines of its flow, a TCP one
	// its handshake state besides, rather than nine scattered ones: with
	// tens of thousands of open flows the flow is rarely in the core's
	// cache, and each line is a miss.
	Key     Key
	hash    uint64 // of Key, the index entry
	Proto   uint8
	Decided bool // Label is final
	stun    bool // keep extracting STUN messages from the TCP stream
	list    int8
	closing bool

	Client       Endpoint
	First, Last  int64 // Unix ns of the first and last packet
	DirLast      [2]int64
	Packets      [2]uint64 // by Dir
	Bytes        [2]uint64 // original frame lengths, by Dir
	PayloadBytes [2]uint64
	DirFirst     [2]int64
	Data         DataMarks
	MAC          [2]MACPair
	cls          *classState // buffers and classifier state until decided

	Point      int
	Server     Endpoint
	FirstFrame uint64
	TCP        TCPInfo
	// Label is the classification, final once Decided; before that it is
	// filled only when the flow ends undecided.
	Label Label
	// EndReason says why the flow left the table: one of EndReasons.
	EndReason string

	stunOff [2]int
	prev    *Flow
	next    *Flow
	chain   *Flow // next flow in the same index entry
	listAt  int64 // packet time the flow was queued on its expiry list
}

// classState is what a flow needs only while it is being classified (and,
// for STUN over TCP, while its stream start is scanned for transactions).
// The table recycles them, so decided flows hold no buffers.
type classState struct {
	streams   [2]stream
	in        classify.Input
	res       classify.Result
	dgramArea []byte  // UDP payloads kept for classification, back to back
	dgramSpan []dgram // where each kept datagram sits in dgramArea
}

// ID is the flow's stable identifier: its capture point and the frame number
// of its first packet, which no other flow can share.
func (f *Flow) ID() string {
	var b [32]byte
	out := append(b[:0], 'f')
	out = strconv.AppendInt(out, int64(f.Point), 10)
	out = append(out, '-')
	out = strconv.AppendUint(out, f.FirstFrame, 10)
	return string(out)
}

// CommunityID returns the flow's Community ID v1.
func (f *Flow) CommunityID() string { return CommunityID(f.Proto, f.Client, f.Server) }

// Transport names the transport as the report does.
func (f *Flow) Transport() string {
	if f.Proto == decode.ProtoTCP {
		return "tcp"
	}
	return "udp"
}

// Answered reports whether the server side sent anything at all.
func (f *Flow) Answered() bool { return f.Packets[S2C] > 0 }

// StreamStart returns the in-order bytes collected for a TCP direction while
// the flow was being classified (empty once classification released them).
func (f *Flow) StreamStart(d Dir) []byte {
	if f.cls == nil {
		return nil
	}
	return f.cls.streams[d].buf
}

// swap exchanges client and server, for when protocol knowledge shows the
// first packet seen came from the server.
func (f *Flow) swap() {
	f.Client, f.Server = f.Server, f.Client
	f.Packets[0], f.Packets[1] = f.Packets[1], f.Packets[0]
	f.Bytes[0], f.Bytes[1] = f.Bytes[1], f.Bytes[0]
	f.PayloadBytes[0], f.PayloadBytes[1] = f.PayloadBytes[1], f.PayloadBytes[0]
	f.DirFirst[0], f.DirFirst[1] = f.DirFirst[1], f.DirFirst[0]
	f.DirLast[0], f.DirLast[1] = f.DirLast[1], f.DirLast[0]
	f.MAC[0], f.MAC[1] = f.MAC[1], f.MAC[0]
	dm := &f.Data
	dm.FirstFrame[0], dm.FirstFrame[1] = dm.FirstFrame[1], dm.FirstFrame[0]
	dm.FirstTime[0], dm.FirstTime[1] = dm.FirstTime[1], dm.FirstTime[0]
	dm.LastTime[0], dm.LastTime[1] = dm.LastTime[1], dm.LastTime[0]
	dm.OneWayFrom, dm.OneWayTime, dm.OneWayPackets = 0, 0, 0
	if c := f.cls; c != nil {
		c.streams[0], c.streams[1] = c.streams[1], c.streams[0]
		for i := range c.dgramSpan {
			c.dgramSpan[i].toServer = !c.dgramSpan[i].toServer
		}
	}
}

type dgram struct {
	start, end int
	toServer   bool
}

// reset clears a classification state for reuse, keeping the capacity of
// its UDP buffers (TCP stream buffers were released to the budget).
func (c *classState) reset() {
	area, spans, dg := c.dgramArea[:0], c.dgramSpan[:0], c.in.Datagrams[:0]
	c.streams = [2]stream{}
	c.in = classify.Input{Datagrams: dg}
	c.dgramArea, c.dgramSpan = area, spans
}

// DataMarks locate the payload-carrying packets of a flow, for detectors
// that ask who spoke last: data one way with only ACKs back.
type DataMarks struct {
	FirstFrame [2]uint64 // first payload packet of each direction (0: none)
	FirstTime  [2]int64
	LastTime   [2]int64 // last payload packet of each direction
	// The client's first payload packet after the server's last one, and
	// how many client payload packets have followed since.
	OneWayFrom    uint64
	OneWayTime    int64
	OneWayPackets int
}
