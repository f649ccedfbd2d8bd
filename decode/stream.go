package decode

import (
	"bufio"
	"errors"
	"io"
)

// stream is the decompressed capture bytes with the offset of the next
// unread byte. Records are sliced out of a buffer, not copied, so Data
// can alias it until the next read. Records are parsed from a window of the buffered
// bytes and the buffer is only advanced when the window runs out, which
// halves the per-record cost of going through Peek and Discard.
//
// The buffer is a bufio.Reader larger than the largest record allowed, or
// with read-ahead the decompressor's chunks themselves: a window then lies
// in one chunk, or (for a record across chunks) starts in the headroom of
// the next one, or for a record longer than the headroom in a buffer the
// chunks are joined in.
type stream struct {
	br     *bufio.Reader
	ahead  *aheadReader
	cur    *aheadBuf // the chunk win lies in, if any
	aerr   error     // the last chunk's error: no more chunks after it
	join   []byte    // a window joined from chunks when the unread end overflows the headroom
	win    []byte    // bytes buffered, starting at the read position
	pos    int       // bytes of win already consumed
	off    int64
	maxCap int
	size   int // the largest pcapng block read whole; larger ones are skipped
}

// peek returns the next n bytes without consuming them. A short read at
// the very start of a record with nothing left is io.EOF; anything shorter
// than n otherwise is io.ErrUnexpectedEOF or the decompressor's error.
func (s *stream) peek(n int) ([]byte, error) {
	if len(s.win)-s.pos >= n {
		return s.win[s.pos : s.pos+n], nil
	}
	b, err := s.peekRaw(n)
	if len(b) == n {
		return b, nil
	}
	return short(b, err)
}

// peekRaw is peek with the source's own error when fewer than n bytes are
// left: io.EOF for a clean end, whatever the decompressor said otherwise.
func (s *stream) peekRaw(n int) ([]byte, error) {
	if len(s.win)-s.pos >= n {
		return s.win[s.pos : s.pos+n], nil
	}
	if s.ahead != nil {
		return s.peekAhead(n)
	}
	// Consumed bytes are buffered, so Discard cannot fail.
	s.br.Discard(s.pos)
	s.pos = 0
	b, err := s.br.Peek(n)
	s.win, _ = s.br.Peek(s.br.Buffered())
	return b, err
}

func short(b []byte, err error) ([]byte, error) {
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

// peekAhead extends the window with chunks until it holds n bytes.
func (s *stream) peekAhead(n int) ([]byte, error) {
	for len(s.win)-s.pos < n {
		if s.aerr != nil {
			return s.win[s.pos:], s.aerr
		}
		c := s.ahead.next()
		s.aerr = c.err
		tail := s.win[s.pos:]
		s.pos = 0
		if len(tail) <= aheadHeadroom {
			start := aheadHeadroom - len(tail)
			copy(c.b[start:aheadHeadroom], tail)
			s.win = c.b[start : aheadHeadroom+c.n]
			s.drop()
			s.cur = c
			continue
		}
		// Longer than the headroom (a jumbo record, a large pcapng
		// block): join; tail may lie in join itself, append copies as
		// memmove does.
		s.join = append(append(s.join[:0], tail...), c.data()...)
		s.win = s.join
		s.drop()
		s.ahead.release(c)
	}
	return s.win[s.pos : s.pos+n], nil
}

// drop hands the current chunk back once the window no longer uses it.
func (s *stream) drop() {
	if s.cur != nil {
		s.ahead.release(s.cur)
		s.cur = nil
	}
}

// skip consumes n bytes (which may exceed the buffer).
func (s *stream) skip(n int) error {
	if len(s.win)-s.pos >= n {
		s.pos += n
		s.off += int64(n)
		return nil
	}
	if s.ahead != nil {
		return s.skipAhead(n)
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

func (s *stream) skipAhead(n int) error {
	for {
		k := min(n, len(s.win)-s.pos)
		s.pos += k
		s.off += int64(k)
		if n -= k; n == 0 {
			return nil
		}
		if s.aerr != nil {
			if errors.Is(s.aerr, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return s.aerr
		}
		c := s.ahead.next()
		s.aerr = c.err
		s.drop()
		s.cur, s.win, s.pos = c, c.data(), 0
	}
}
