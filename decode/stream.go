package decode

import (
	"bufio"
	"errors"
	"io"
)

// stream is the decompressed capture bytes with the offset of the next
// unread byte. Records are sliced out of the bufio buffer, not copied: the
// buffer is larger than the largest record allowed, so Data can alias it
// until the next read. Records are parsed from a window of the buffered
// bytes and the bufio.Reader is only advanced when the window runs out,
// which halves the per-record cost of going through Peek and Discard.
type stream struct {
	br     *bufio.Reader
	win    []byte // bytes buffered in br, starting at br's read position
	pos    int    // bytes of win already consumed
	off    int64
	maxCap int
}

// peek returns the next n bytes without consuming them. A short read at
// the very start of a record with nothing left is io.EOF; anything shorter
// than n otherwise is io.ErrUnexpectedEOF or the decompressor's error.
func (s *stream) peek(n int) ([]byte, error) {
	if len(s.win)-s.pos >= n {
		return s.win[s.pos : s.pos+n], nil
	}
	// Consumed bytes are buffered, so Discard cannot fail.
	s.br.Discard(s.pos)
	s.pos = 0
	b, err := s.br.Peek(n)
	s.win, _ = s.br.Peek(s.br.Buffered())
	if len(b) == n {
		return b, nil
	}
	if errors.Is(err, io.EOF) {
		if len(b) == 0 {
			return nil, io.EOF
		}
		return b, io.ErrUnexpectedEOF
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

// skip consumes n bytes (which may exceed the buffer).
func (s *stream) skip(n int) error {
	if len(s.win)-s.pos >= n {
		s.pos += n
		s.off += int64(n)
		return nil
	}
	want := s.pos + n
	d, err := s.br.Discard(want)
	s.off += int64(d - s.pos)
	s.pos, s.win = 0, nil
	if err != nil && d < want {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// bufSize is the most peek can return at once.
func (s *stream) bufSize() int { return s.br.Size() }
