//go:build linux

package decode

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Live capture on Linux: an AF_PACKET socket read with recvmmsg, without
// libpcap. gopacket's pcapgo.EthernetHandle was the first choice but it does
// not expose its descriptor, so the kernel receive buffer (SO_RCVBUF) that
// absorbs bursts cannot be set, it binds before a filter can be attached,
// and it reads one packet per system call; this is the same socket done
// with golang.org/x/sys/unix, batched.

// Defaults of a live capture.
const (
	// DefaultSnapLen is libpcap's MAXIMUM_SNAPLEN: whole frames, including
	// the merged frames segmentation offload hands over.
	DefaultSnapLen = 262144
	// DefaultLiveBuffer is the kernel receive buffer asked for: about a
	// second of a busy Edge's SPAN port (200k packets/s of ~300 bytes
	// with the kernel's per-packet overhead).
	DefaultLiveBuffer = 128 << 20
	// liveBatch is how many frames one recvmmsg call may return.
	liveBatch = 32
)

// ErrNoPermission is wrapped by OpenLive when the process may not open a
// packet socket.
var ErrNoPermission = errors.New("live capture needs root or the CAP_NET_RAW capability")

// ErrNoInterface is wrapped by OpenLive for an interface that does not exist.
var ErrNoInterface = errors.New("no such interface")

// LiveOptions configure a live capture. The zero value captures whole
// frames, promiscuously, with DefaultLiveBuffer and no filter.
type LiveOptions struct {
	SnapLen    int  // bytes kept of each frame; 0 means DefaultSnapLen
	NoPromisc  bool // leave the interface's promiscuous mode alone
	BufferSize int  // kernel receive buffer in bytes; 0 means DefaultLiveBuffer
	// Filter is a capture filter in tcpdump syntax (the subset of
	// CompileFilter), compiled for the interface's link type and run in
	// the kernel; "" captures everything.
	Filter string
}

// LiveStats are a live capture's kernel counters since it was opened.
type LiveStats struct {
	Received uint64 // frames the socket was offered (PACKET_STATISTICS tp_packets, drops included)
	Dropped  uint64 // frames the kernel dropped because the receive buffer was full (tp_drops)
}

// Live is a capture from one network interface. It is a Source: Next
// blocks until a frame arrives and returns io.EOF once Close was called
// (Close may be called from another goroutine to stop a blocked Next).
// Next and TryNext belong to one goroutine; Stats and Close may be called
// from any.
type Live struct {
	Name     string // interface name
	Index    int    // interface index
	LinkType uint16 // LinkTypeEthernet, or LinkTypeRaw for IP-only devices
	SnapLen  int
	// Point is written to Packet.Point; set it before the first Next.
	Point int
	// Buffer is the receive buffer the kernel granted (it may be less
	// than asked for without CAP_NET_ADMIN: net.core.rmem_max applies).
	Buffer int

	file     *os.File
	raw      syscall.RawConn
	loopback bool

	// recvmmsg batch
	hdrs  [liveBatch]mmsghdr
	iovs  [liveBatch]unix.Iovec
	names [liveBatch]unix.RawSockaddrLinklayer
	bufs  [][]byte // each SnapLen+4: room to re-insert a VLAN tag in front
	oobs  [][]byte
	n     int // frames in the batch
	pos   int // next frame of the batch

	frame uint64

	mu     sync.Mutex
	stats  LiveStats
	closed bool
}

// mmsghdr is struct mmsghdr of recvmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [unsafe.Sizeof(uintptr(0)) - 4]byte // padding on 64-bit
}

var _ Source = (*Live)(nil)

var (
	cmsgHdrLen = unix.CmsgSpace(0)
	auxSpace   = unix.CmsgSpace(int(unsafe.Sizeof(unix.TpacketAuxdata{})))
	tsSpace    = unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))
)

// OpenLive opens a capture on the interface named iface.
func OpenLive(iface string, o LiveOptions) (*Live, error) {
	if o.SnapLen <= 0 {
		o.SnapLen = DefaultSnapLen
	}
	if o.SnapLen > DefaultSnapLen {
		return nil, fmt.Errorf("snap length %d: at most %d", o.SnapLen, DefaultSnapLen)
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultLiveBuffer
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("%w %q (interfaces here: %s)", ErrNoInterface, iface, strings.Join(InterfaceNames(), ", "))
	}
	l := &Live{Name: iface, Index: ifc.Index, SnapLen: o.SnapLen, LinkType: LinkTypeEthernet}
	switch t := arphrd(iface); t {
	case unix.ARPHRD_ETHER, -1:
	case unix.ARPHRD_LOOPBACK:
		l.loopback = true
	case unix.ARPHRD_NONE, unix.ARPHRD_PPP, unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6, unix.ARPHRD_IPGRE:
		l.LinkType = LinkTypeRaw
	default:
		return nil, fmt.Errorf("%s: link type ARPHRD %d is not supported (Ethernet, loopback and IP-only devices are)", iface, t)
	}

	prog, err := CompileFilter(o.Filter, l.LinkType, o.SnapLen)
	if err != nil {
		return nil, err
	}

	// Protocol 0: the socket receives nothing until bind, so no frame
	// slips past before the filter is attached.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%s: %w: run as root or `sudo setcap cap_net_raw,cap_net_admin+ep %s`", iface, ErrNoPermission, exeName())
		}
		return nil, fmt.Errorf("%s: packet socket: %w", iface, err)
	}
	fail := func(what string, err error) (*Live, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %s: %w", iface, what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return fail("PACKET_AUXDATA", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("SO_TIMESTAMPNS", err)
	}
	// SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN; without
	// it SO_RCVBUF gets what the limit allows.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, o.BufferSize); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.BufferSize)
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
		l.Buffer = v
	}
	if len(prog) > 0 {
		if err := attachFilter(fd, prog); err != nil {
			return fail("attaching the capture filter", err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
		return fail("bind", err)
	}
	if !o.NoPromisc {
		mreq := unix.PacketMreq{Ifindex: int32(ifc.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fail("promiscuous mode", err)
		}
	}
	// Counters start now.
	_, _ = unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)

	l.file = os.NewFile(uintptr(fd), "packet:"+iface)
	if l.raw, err = l.file.SyscallConn(); err != nil {
		l.file.Close()
		return nil, err
	}
	l.bufs = make([][]byte, liveBatch)
	l.oobs = make([][]byte, liveBatch)
	slab := make([]byte, liveBatch*(o.SnapLen+4))
	oob := make([]byte, liveBatch*(auxSpace+tsSpace))
	for i := range liveBatch {
		l.bufs[i] = slab[i*(o.SnapLen+4) : (i+1)*(o.SnapLen+4) : (i+1)*(o.SnapLen+4)]
		l.oobs[i] = oob[i*(auxSpace+tsSpace) : (i+1)*(auxSpace+tsSpace)]
	}
	return l, nil
}

func attachFilter(fd int, prog []bpf.RawInstruction) error {
	f := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		f[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// arphrd reads the interface's ARPHRD_* type from sysfs; -1 if unknown.
func arphrd(iface string) int {
	b, err := os.ReadFile(filepath.Join("/sys/class/net", filepath.Base(iface), "type"))
	if err != nil {
		return -1
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return v
}

func exeName() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "edgeaudit"
}

// InterfaceNames lists the network interfaces of this host (this network
// namespace), for an error naming the ones that exist.
func InterfaceNames() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ifs))
	for _, i := range ifs {
		out = append(out, i.Name)
	}
	return out
}

// Next blocks until a frame arrives and fills the frame fields of p; Data
// aliases the capture's buffer until the next call. It returns io.EOF
// after Close.
func (l *Live) Next(p *Packet) error {
	for {
		ok, err := l.TryNext(p)
		if ok || err != nil {
			return err
		}
		// Nothing queued: wait for the socket to become readable.
		var werr error
		err = l.raw.Read(func(fd uintptr) bool {
			werr = l.recv(fd)
			return werr != unix.EAGAIN
		})
		if err != nil {
			return io.EOF // closed
		}
		if werr != nil {
			return fmt.Errorf("%s: %w", l.Name, werr)
		}
	}
}

// TryNext is Next without waiting: it returns false when no frame is queued.
func (l *Live) TryNext(p *Packet) (bool, error) {
	if l.pos >= l.n {
		var rerr error
		if err := l.raw.Control(func(fd uintptr) { rerr = l.recv(fd) }); err != nil {
			return false, io.EOF
		}
		if rerr == unix.EAGAIN {
			return false, nil
		}
		if rerr != nil {
			return false, fmt.Errorf("%s: %w", l.Name, rerr)
		}
	}
	for l.pos < l.n {
		i := l.pos
		l.pos++
		if l.fill(p, i) {
			return true, nil
		}
	}
	return false, nil
}

// recv reads up to liveBatch frames with one recvmmsg call.
func (l *Live) recv(fd uintptr) error {
	for i := range liveBatch {
		h := &l.hdrs[i]
		l.iovs[i].Base = &l.bufs[i][4]
		l.iovs[i].SetLen(len(l.bufs[i]) - 4)
		h.hdr.Name = (*byte)(unsafe.Pointer(&l.names[i]))
		h.hdr.Namelen = uint32(unsafe.Sizeof(l.names[i]))
		h.hdr.Iov = &l.iovs[i]
		h.hdr.Iovlen = 1
		h.hdr.Control = &l.oobs[i][0]
		h.hdr.SetControllen(len(l.oobs[i]))
		h.hdr.Flags = 0
		h.len = 0
	}
	n, _, e := syscall.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&l.hdrs[0])), liveBatch, unix.MSG_TRUNC, 0, 0)
	if e != 0 {
		if e == unix.EINTR {
			return unix.EAGAIN
		}
		return e
	}
	l.n, l.pos = int(n), 0
	return nil
}

// fill turns frame i of the batch into p; false for a frame to skip.
func (l *Live) fill(p *Packet, i int) bool {
	h := &l.hdrs[i]
	if l.loopback && l.names[i].Pkttype == unix.PACKET_OUTGOING {
		return false // loopback shows each frame twice, as libpcap knows
	}
	wire := int(h.len)
	capLen := min(wire, len(l.bufs[i])-4)
	var ts int64
	var tci uint16
	tpid := uint16(0x8100)
	vlan := false
	oob := l.oobs[i][:h.hdr.Controllen]
	for len(oob) >= cmsgHdrLen {
		c := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		clen := int(c.Len)
		if clen < cmsgHdrLen || clen > len(oob) {
			break
		}
		switch {
		case c.Level == unix.SOL_PACKET && c.Type == unix.PACKET_AUXDATA && len(oob) >= auxSpace:
			aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&oob[cmsgHdrLen]))
			wire = int(aux.Len)
			capLen = min(int(aux.Snaplen), capLen)
			if aux.Status&unix.TP_STATUS_VLAN_VALID != 0 || aux.Vlan_tci != 0 {
				vlan, tci = true, aux.Vlan_tci
				if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && aux.Vlan_tpid != 0 {
					tpid = aux.Vlan_tpid
				}
			}
		case c.Level == unix.SOL_SOCKET && c.Type == unix.SO_TIMESTAMPNS && len(oob) >= tsSpace:
			t := (*unix.Timespec)(unsafe.Pointer(&oob[cmsgHdrLen]))
			ts = int64(t.Sec)*1e9 + int64(t.Nsec)
		}
		oob = oob[min(len(oob), unix.CmsgSpace(clen-cmsgHdrLen)):]
	}
	if ts == 0 {
		ts = time.Now().UnixNano()
	}
	b := l.bufs[i]
	data := b[4 : 4+capLen]
	if vlan && l.LinkType == LinkTypeEthernet && capLen >= 12 {
		// The kernel took the 802.1Q tag out of the frame; put it back
		// where it was on the wire, as libpcap does.
		copy(b[0:12], b[4:16])
		b[12], b[13] = byte(tpid>>8), byte(tpid)
		b[14], b[15] = byte(tci>>8), byte(tci)
		data = b[0 : capLen+4]
		wire += 4
	}
	l.frame++
	p.Point = l.Point
	p.Frame = l.frame
	p.Offset = 0
	p.Time = ts
	p.WireLen = max(wire, len(data))
	p.LinkType = l.LinkType
	p.Data = data
	return true
}

// Frames returns how many frames Next has delivered.
func (l *Live) Frames() uint64 { return l.frame }

// Stats returns the kernel's counters since the capture was opened. Safe
// from any goroutine; after Close it returns the last counters read.
func (l *Live) Stats() (LiveStats, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.stats, nil
	}
	var st *unix.TpacketStats
	var gerr error
	err := l.raw.Control(func(fd uintptr) {
		st, gerr = unix.GetsockoptTpacketStats(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
	})
	if err == nil {
		err = gerr
	}
	if err != nil {
		return l.stats, err
	}
	// The kernel resets the counters on each read: keep the sums.
	l.stats.Received += uint64(st.Packets)
	l.stats.Dropped += uint64(st.Drops)
	return l.stats, nil
}

// Close stops the capture; a Next blocked in another goroutine returns
// io.EOF. The kernel counters are read one last time first.
func (l *Live) Close() error {
	_, _ = l.Stats()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	return l.file.Close()
}
