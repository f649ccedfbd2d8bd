//go:build !linux

package decode

import "errors"

// Live capture exists on Linux only (AF_PACKET).

const (
	DefaultSnapLen    = 262144
	DefaultLiveBuffer = 128 << 20
)

var (
	ErrNoPermission = errors.New("live capture needs root or the CAP_NET_RAW capability")
	ErrNoInterface  = errors.New("no such interface")
)

type LiveOptions struct {
	SnapLen    int
	NoPromisc  bool
	BufferSize int
	Filter     string
}

type LiveStats struct{ Received, Dropped uint64 }

type Live struct {
	Name     string
	Index    int
	LinkType uint16
	SnapLen  int
	Point    int
	Buffer   int
}

func OpenLive(iface string, o LiveOptions) (*Live, error) {
	return nil, errors.New("live capture is supported on Linux only")
}

func InterfaceNames() []string                  { return nil }
func (l *Live) Next(p *Packet) error            { return errors.New("unsupported") }
func (l *Live) TryNext(p *Packet) (bool, error) { return false, errors.New("unsupported") }
func (l *Live) Frames() uint64                  { return 0 }
func (l *Live) Stats() (LiveStats, error)       { return LiveStats{}, nil }
func (l *Live) Close() error                    { return nil }
