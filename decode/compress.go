package decode

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// Compression names as File.Compression reports them.
const (
	CompressionNone  = "none"
	CompressionGzip  = "gzip"
	CompressionZstd  = "zstd"
	CompressionLZ4   = "lz4"
	CompressionBzip2 = "bzip2"
	CompressionXZ    = "xz"
)

// Magic bytes of each compressed format, checked in order.
var compressionMagic = []struct {
	name  string
	magic []byte
}{
	{CompressionGzip, []byte{0x1f, 0x8b}},
	{CompressionZstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{CompressionLZ4, []byte{0x04, 0x22, 0x4d, 0x18}},
	{CompressionBzip2, []byte("BZh")},
	{CompressionXZ, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
}

// Memory bounds for decompressors fed hostile input (issue 11: a capture
// must never make us allocate without limit). zstd --long=27 needs a 128 MiB
// window, xz -9 a 64 MiB dictionary; both stay within these.
const (
	maxZstdWindow = 128 << 20
	maxXZDict     = 128 << 20
)

// sniffCompression names the compression of the stream behind br without
// consuming it.
func sniffCompression(br *bufio.Reader) string {
	head, _ := br.Peek(6)
	for _, c := range compressionMagic {
		if bytes.HasPrefix(head, c.magic) {
			return c.name
		}
	}
	return CompressionNone
}

// decompressor wraps br in the decompressor for kind. The returned closer
// releases decoder resources (zstd keeps goroutines and buffers).
func decompressor(kind string, br *bufio.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch kind {
	case CompressionNone:
		return br, nop, nil
	case CompressionGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case CompressionZstd:
		// One decoder goroutine: the pipeline owns the other core.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, zr.Close, nil
	case CompressionLZ4:
		return lz4.NewReader(br), nop, nil
	case CompressionBzip2:
		return bzip2.NewReader(br), nop, nil
	case CompressionXZ:
		if err := checkXZDict(br); err != nil {
			return nil, nil, err
		}
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("xz: %w", err)
		}
		return zr, nop, nil
	}
	return nil, nil, fmt.Errorf("unknown compression %q", kind)
}

// checkXZDict refuses an xz stream whose first block asks for a dictionary
// larger than maxXZDict: ulikunitz/xz allocates the dictionary the header
// claims, so a 12-byte hostile header could otherwise cost gigabytes.
func checkXZDict(br *bufio.Reader) error {
	// Stream header (12 bytes), then the block header: size byte,
	// flags, optional compressed and uncompressed sizes (varints), then
	// the filter flags: filter id (varint), props size, props.
	h, _ := br.Peek(12 + 1024)
	if len(h) < 14 || h[12] == 0 { // no block: an empty stream
		return nil
	}
	b := h[13:]
	flags := b[0]
	b = b[1:]
	skipVarint := func() bool {
		for i := 0; i < len(b) && i < 9; i++ {
			if b[i]&0x80 == 0 {
				b = b[i+1:]
				return true
			}
		}
		return false
	}
	if flags&0x40 != 0 && !skipVarint() {
		return errors.New("xz: bad block header")
	}
	if flags&0x80 != 0 && !skipVarint() {
		return errors.New("xz: bad block header")
	}
	nfilters := int(flags&0x03) + 1
	for i := 0; i < nfilters; i++ {
		if len(b) < 1 {
			return errors.New("xz: bad block header")
		}
		id := b[0]
		if !skipVarint() || len(b) < 1 {
			return errors.New("xz: bad block header")
		}
		psize := int(b[0])
		b = b[1:]
		if len(b) < psize {
			return errors.New("xz: bad block header")
		}
		if id == 0x21 && psize == 1 { // LZMA2: props byte encodes the dictionary size
			p := b[0] & 0x3f
			if p > 40 {
				return errors.New("xz: bad LZMA2 dictionary size")
			}
			var dict uint64 = 0xffffffff
			if p < 40 {
				dict = uint64(2|p&1) << (p/2 + 11)
			}
			if dict > maxXZDict {
				return fmt.Errorf("xz: dictionary of %d bytes exceeds the %d byte limit", dict, maxXZDict)
			}
		}
		b = b[psize:]
	}
	return nil
}
