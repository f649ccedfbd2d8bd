package decode

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// Capture formats as File.Format reports them.
const (
	FormatPcap   = "pcap"
	FormatPcapng = "pcapng"
)

// DefaultMaxCapLen is the largest captured length a record may claim before
// it is treated as damage. 256 KiB covers 64 KiB IP plus any jumbo or
// offload-merged frame a real capture holds.
const DefaultMaxCapLen = 256 << 10

// ReaderOptions tunes a File. The zero value gives the defaults, except
// that Open also turns ReadAhead on when there is more than one core.
type ReaderOptions struct {
	// MaxCapLen is the largest captured length of one record; a record
	// claiming more is reported as damage (ErrRecordTooLarge), never
	// allocated. 0 means DefaultMaxCapLen.
	MaxCapLen int
	// ReadAhead decompresses on a separate goroutine so decompression and
	// decoding overlap (compressed input only; plain files gain nothing).
	ReadAhead bool
}

// Interface is one capture interface of a file: a pcapng Interface
// Description Block, or the single implicit interface of a pcap file.
type Interface struct {
	Index       int // position in Interfaces(), counted across all sections; Packet.Point = BasePoint + Index
	Section     int // 0-based pcapng section the interface belongs to
	Name        string
	Description string
	LinkType    uint16
	SnapLen     uint32
	// TSUnits is the number of timestamp units per second (if_tsresol:
	// 1e6 by default, 1e9 for nanosecond pcap and so on).
	TSUnits uint64
}

// File is a capture file or pipe opened for sequential reading. It is a
// Source. Next, Interfaces and Close belong to one goroutine; BytesRead may
// be called from any.
type File struct {
	Path        string // as given to Open ("-" for standard input)
	Format      string // FormatPcap or FormatPcapng
	Compression string // CompressionNone, CompressionGzip, ...
	Size        int64  // bytes on disk, -1 when unknown (a pipe)
	// BasePoint is added to the interface index to give Packet.Point, so
	// several files opened together get distinct capture points. Set it
	// before the first Next.
	BasePoint int

	raw      io.Reader
	closeRaw func() error
	counter  *countingReader
	closeDec func()
	s        stream
	rec      recordReader
	ifaces   []Interface
	frame    uint64 // frames delivered so far
	done     bool   // EOF or damage returned; later calls give io.EOF
}

// recordReader is the format-specific half of a File.
type recordReader interface {
	next(p *Packet) error
}

var _ Source = (*File)(nil)

// Open opens a capture file read-only, or standard input for "-", and
// sniffs its compression and format from magic bytes. A compressed input
// is decompressed on a goroutine of its own when there is more than one
// core: decompression then overlaps decoding and analysis instead of
// adding to them (gzip is slower to unpack than the rest of the audit).
func Open(path string) (*File, error) {
	return OpenWith(path, ReaderOptions{ReadAhead: runtime.GOMAXPROCS(0) > 1})
}

// OpenWith is Open with options.
func OpenWith(path string, opts ReaderOptions) (*File, error) {
	if path == "-" {
		size := int64(-1)
		if st, err := os.Stdin.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		// Standard input is not ours to close.
		return newFile(os.Stdin, func() error { return nil }, path, size, opts)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size := int64(-1)
	if st, err := fh.Stat(); err == nil {
		if st.IsDir() {
			fh.Close()
			return nil, fmt.Errorf("%s: is a directory", path)
		}
		if st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	f, err := newFile(fh, fh.Close, path, size, opts)
	if err != nil {
		fh.Close()
		return nil, err
	}
	return f, nil
}

// NewReader reads a capture from r; name is used in errors and as Path, size
// is reported as Size (-1 if unknown). It does not close r.
func NewReader(r io.Reader, name string, size int64) (*File, error) {
	return NewReaderWith(r, name, size, ReaderOptions{})
}

// NewReaderWith is NewReader with options.
func NewReaderWith(r io.Reader, name string, size int64, opts ReaderOptions) (*File, error) {
	return newFile(r, func() error { return nil }, name, size, opts)
}

func newFile(r io.Reader, closeRaw func() error, path string, size int64, opts ReaderOptions) (*File, error) {
	maxCap := opts.MaxCapLen
	if maxCap <= 0 {
		maxCap = DefaultMaxCapLen
	}
	f := &File{Path: path, Size: size, raw: r, closeRaw: closeRaw}
	f.counter = &countingReader{r: r}
	bufSize := max(1<<20, maxCap+64<<10)
	rb := bufio.NewReaderSize(f.counter, bufSize)
	f.Compression = sniffCompression(rb)
	dec, closeDec, err := decompressor(f.Compression, rb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.closeDec = closeDec
	f.s = stream{maxCap: maxCap, size: bufSize}
	switch {
	case f.Compression == CompressionNone:
		f.s.br = rb
	case opts.ReadAhead:
		f.s.ahead = newAheadReader(dec, closeDec)
		f.closeDec = f.s.ahead.Close
	default:
		f.s.br = bufio.NewReaderSize(dec, bufSize)
	}

	// The source's own error: a truncated compressed stream is that, not
	// a file too short to be a capture.
	head, err := f.s.peekRaw(12)
	if len(head) < 4 {
		f.closeDec()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, fmt.Errorf("%s: %w (only %d bytes)", path, ErrNotCapture, len(head))
	}
	switch {
	case isPcapMagic(head):
		f.Format = FormatPcap
		pr, err := newPcapReader(f)
		if err != nil {
			f.closeDec()
			return nil, err
		}
		f.rec = pr
	case isPcapngMagic(head):
		f.Format = FormatPcapng
		f.rec = &ngReader{f: f}
	default:
		f.closeDec()
		return nil, fmt.Errorf("%s: %w (magic % x)", path, ErrNotCapture, head[:4])
	}
	return f, nil
}

// DecompressionBound reports that a goroutine of its own decompresses the
// input and that the format is slow to decompress (gzip, bzip2, xz: slower
// than the whole analysis), so that goroutine takes a core to itself.
func (f *File) DecompressionBound() bool {
	if f.s.ahead == nil {
		return false
	}
	switch f.Compression {
	case CompressionGzip, CompressionBzip2, CompressionXZ:
		return true
	}
	return false
}

// KeepDecompressorThread keeps the goroutine that decompresses f on one OS
// thread from now on, for a file read alone whose decompression is slower
// than everything after it (DecompressionBound): it then almost never
// waits, and each chunk it hands over wakes the analysis, after which the
// scheduler often moved it to another thread and core, away from its warm
// cache. Kept on its thread, the workload's gzip audit took a median 0.945x
// the time (16 alternated pairs). Not when it waits: for zstd, or several
// gzip files merged by time, a kept thread costs a switch at every wait
// (10-15 % slower, measured).
func (f *File) KeepDecompressorThread() {
	if f.s.ahead != nil {
		f.s.ahead.pin.Store(true)
	}
}

// Next fills the frame fields of p with the next record. It returns io.EOF
// at the end, or a *DamageError once (then io.EOF) when the input is damaged.
func (f *File) Next(p *Packet) error {
	if f.done {
		return io.EOF
	}
	err := f.rec.next(p)
	if err != nil {
		f.done = true
		return err
	}
	f.frame++
	p.Frame = f.frame
	return nil
}

// Frames returns how many frames Next has delivered.
func (f *File) Frames() uint64 { return f.frame }

// BytesRead returns the raw (possibly compressed) bytes consumed from the
// input so far, for a progress bar. Safe to call from any goroutine.
func (f *File) BytesRead() int64 { return f.counter.n.Load() }

// Interfaces returns the interfaces seen so far (pcapng declares them as the
// file goes on; a pcap file has exactly one).
func (f *File) Interfaces() []Interface {
	return append([]Interface(nil), f.ifaces...)
}

// Close releases the decompressor and closes the file Open opened.
func (f *File) Close() error {
	f.done = true
	if f.closeDec != nil {
		f.closeDec()
		f.closeDec = nil
	}
	if f.closeRaw != nil {
		err := f.closeRaw()
		f.closeRaw = nil
		return err
	}
	return nil
}

// damage builds the DamageError for the record that would be next.
func (f *File) damage(off int64, err error) error {
	return &DamageError{Path: f.Path, Frame: f.frame + 1, Offset: off, Err: err}
}
