package decode

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/zstd"
)

// SegmentInterface is one interface declared in every segment.
type SegmentInterface struct {
	Name     string
	LinkType uint16
	SnapLen  int
	Filter   string // the capture filter, recorded in the pcapng IDB
}

// SegmentOptions configure a SegmentWriter.
type SegmentOptions struct {
	Dir    string
	Prefix string // file names are PREFIX-YYYYmmddTHHMMSSZ-NNNNNN.pcapng[.zst]; "" means "edgeaudit"
	// MaxSize ends a segment once this many bytes of pcapng were written
	// to it (before compression); 0: no size limit.
	MaxSize int64
	// MaxAge ends a segment this long after its first packet (wall
	// clock); 0: no time limit.
	MaxAge time.Duration
	Zstd   bool
	// Keep is the most finished segments kept: older ones this writer
	// made are deleted. 0 keeps all.
	Keep       int
	Interfaces []SegmentInterface
	Now        func() time.Time // for tests; nil is time.Now
}

// SegmentWriter writes frames as rotating pcapng segments, each written
// under a temporary hidden name and renamed into place when finished, so
// a reader (edgeaudit audit DIR, Wireshark) never sees half a segment under
// its final name. Segments are created when the first frame arrives: a
// quiet capture leaves no empty files. It is safe for use by one goroutine
// at a time (a mutex serialises WritePacket, Rotate and Close).
type SegmentWriter struct {
	o SegmentOptions

	mu       sync.Mutex
	cur      *AtomicFile
	zw       *zstd.Encoder
	ng       *pcapgo.NgWriter
	count    *countWriter
	opened   time.Time
	seq      int
	finished []string
	packets  uint64
	closed   bool
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// NewSegmentWriter checks that dir is a writable directory (creating it if
// needed) and returns a writer; nothing is written before the first frame.
func NewSegmentWriter(o SegmentOptions) (*SegmentWriter, error) {
	if o.Dir == "" {
		return nil, errors.New("segments: no directory")
	}
	if len(o.Interfaces) == 0 {
		return nil, errors.New("segments: no interfaces")
	}
	if o.Prefix == "" {
		o.Prefix = "edgeaudit"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSize < 0 || o.MaxAge < 0 || o.Keep < 0 {
		return nil, errors.New("segments: negative size, age or keep")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	// Fail now, not at the first packet, when the directory is not writable.
	probe, err := os.CreateTemp(o.Dir, ".edgeaudit-probe-*")
	if err != nil {
		return nil, fmt.Errorf("segments: %s is not writable: %w", o.Dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return &SegmentWriter{o: o}, nil
}

func (w *SegmentWriter) open() error {
	now := w.o.Now()
	w.seq++
	name := fmt.Sprintf("%s-%s-%06d.pcapng", w.o.Prefix, now.UTC().Format("20060102T150405Z"), w.seq)
	if w.o.Zstd {
		name += ".zst"
	}
	af, err := CreateAtomic(filepath.Join(w.o.Dir, name))
	if err != nil {
		return fmt.Errorf("segments: %w", err)
	}
	var dst io.Writer = af
	if w.o.Zstd {
		zw, err := zstd.NewWriter(af, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			af.Abort()
			return fmt.Errorf("segments: zstd: %w", err)
		}
		w.zw = zw
		dst = zw
	}
	w.count = &countWriter{w: dst}
	var ng *pcapgo.NgWriter
	for i, ifc := range w.o.Interfaces {
		ni := pcapgo.NgInterface{Name: ifc.Name, LinkType: layers.LinkType(ifc.LinkType), SnapLength: uint32(max(ifc.SnapLen, 0)),
			Filter: ifc.Filter, TimestampResolution: 9, OS: "Linux"}
		if i == 0 {
			ng, err = pcapgo.NewNgWriterInterface(w.count, ni, pcapgo.NgWriterOptions{
				SectionInfo: pcapgo.NgSectionInfo{Application: "edgeaudit live"}})
		} else {
			_, err = ng.AddInterface(ni)
		}
		if err != nil {
			w.abortCurrent()
			af.Abort()
			return fmt.Errorf("segments: %w", err)
		}
	}
	w.cur, w.ng, w.opened = af, ng, now
	return nil
}

func (w *SegmentWriter) abortCurrent() {
	if w.zw != nil {
		w.zw.Close()
		w.zw = nil
	}
}

// WritePacket appends a frame captured on interface iface (an index into
// Interfaces), rotating first when the current segment is full or old.
func (w *SegmentWriter) WritePacket(iface int, ts int64, wireLen int, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("segments: closed")
	}
	if iface < 0 || iface >= len(w.o.Interfaces) {
		return fmt.Errorf("segments: no interface %d", iface)
	}
	if w.cur != nil && w.due(w.o.Now()) {
		if err := w.finish(); err != nil {
			return err
		}
	}
	if w.cur == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, ts), CaptureLength: len(data), Length: max(wireLen, len(data)), InterfaceIndex: iface}
	if err := w.ng.WritePacket(ci, data); err != nil {
		return fmt.Errorf("segments: %w", err)
	}
	w.packets++
	return nil
}

// due reports whether the open segment should end. The size counts what
// the pcapng writer has flushed so far, so it lags by its 4 KiB buffer.
func (w *SegmentWriter) due(now time.Time) bool {
	if w.o.MaxSize > 0 && w.count.n >= w.o.MaxSize {
		return true
	}
	return w.o.MaxAge > 0 && now.Sub(w.opened) >= w.o.MaxAge
}

// Rotate ends the current segment if its time is up, for calling on a
// timer so a segment is finished even when traffic stops.
func (w *SegmentWriter) Rotate() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur == nil || w.closed || !w.due(w.o.Now()) {
		return nil
	}
	return w.finish()
}

// finish flushes, closes and renames the current segment into place, then
// deletes the oldest beyond Keep.
func (w *SegmentWriter) finish() error {
	af := w.cur
	w.cur = nil
	err := w.ng.Flush()
	if w.zw != nil {
		if cerr := w.zw.Close(); err == nil {
			err = cerr
		}
		w.zw = nil
	}
	if err != nil {
		af.Abort()
		return fmt.Errorf("segments: %s: %w", af.Path(), err)
	}
	if err := af.Commit(); err != nil {
		return fmt.Errorf("segments: %s: %w", af.Path(), err)
	}
	w.finished = append(w.finished, af.Path())
	if w.o.Keep > 0 {
		for len(w.finished) > w.o.Keep {
			os.Remove(w.finished[0])
			w.finished = w.finished[1:]
		}
	}
	return nil
}

// Segments lists the finished segments still kept, oldest first.
func (w *SegmentWriter) Segments() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.finished...)
}

// Packets is the number of frames written.
func (w *SegmentWriter) Packets() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.packets
}

// Close finishes the open segment.
func (w *SegmentWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.cur == nil {
		return nil
	}
	return w.finish()
}
