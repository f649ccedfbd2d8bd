package decode

import (
	"io"
	"sync"
)

// Read-ahead geometry: a few chunks in flight keep the decompressor busy
// while the pipeline works through the previous ones.
const (
	aheadChunk  = 256 << 10
	aheadChunks = 4
)

type aheadBuf struct {
	b   []byte
	err error
}

// aheadReader runs a decompressor on its own goroutine, so decompression
// and decoding overlap on two cores (issue 10's "zstd in its own stage").
// Chunks circulate between two channels; nothing is allocated after start.
type aheadReader struct {
	full  chan *aheadBuf
	empty chan *aheadBuf
	done  chan struct{}
	once  sync.Once
	cur   *aheadBuf
	off   int
	err   error
}

// newAheadReader starts reading r. release is called by the reading
// goroutine when it stops, so the decompressor is freed only once nothing
// uses it, without Close having to wait for a read blocked on a pipe.
func newAheadReader(r io.Reader, release func()) *aheadReader {
	a := &aheadReader{
		full:  make(chan *aheadBuf, aheadChunks),
		empty: make(chan *aheadBuf, aheadChunks),
		done:  make(chan struct{}),
	}
	for range aheadChunks {
		a.empty <- &aheadBuf{b: make([]byte, aheadChunk)}
	}
	go a.fill(r, release)
	return a
}

// fill reads chunks until the source ends or fails, or Close is called.
func (a *aheadReader) fill(r io.Reader, release func()) {
	defer release()
	for {
		var c *aheadBuf
		select {
		case c = <-a.empty:
		case <-a.done:
			return
		}
		n, err := io.ReadFull(r, c.b[:cap(c.b)])
		c.b = c.b[:n]
		if err == io.ErrUnexpectedEOF {
			err = io.EOF // a short last chunk is the normal end
		}
		c.err = err
		select {
		case a.full <- c:
		case <-a.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for a.cur == nil || a.off == len(a.cur.b) {
		if a.err != nil {
			return 0, a.err
		}
		if a.cur != nil {
			a.err = a.cur.err
			a.cur.b = a.cur.b[:cap(a.cur.b)]
			a.empty <- a.cur // never blocks: at most aheadChunks exist
			a.cur = nil
			continue
		}
		a.cur, a.off = <-a.full, 0
	}
	n := copy(p, a.cur.b[a.off:])
	a.off += n
	return n, nil
}

// Close tells the goroutine to stop; it releases the decompressor itself.
func (a *aheadReader) Close() {
	a.once.Do(func() { close(a.done) })
}
