package decode

import (
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

// Read-ahead geometry: a few chunks in flight keep the decompressor busy
// while the pipeline works through the previous ones. Each chunk has room
// before its data for the unread end of the previous one, so a record
// across two chunks is joined by copying that end, not the chunk: every
// ordinary frame fits (64 KiB, a TSO super-frame included); a longer
// record across chunks costs a copy of the next chunk.
const (
	aheadChunk    = 256 << 10
	aheadHeadroom = 64 << 10
	aheadChunks   = 4
)

// aheadBuf is one chunk: its data is b[aheadHeadroom:][:n]; err is what
// the read that filled it returned (io.EOF at the end), for after the data.
type aheadBuf struct {
	b   []byte
	n   int
	err error
}

func (c *aheadBuf) data() []byte { return c.b[aheadHeadroom : aheadHeadroom+c.n] }

// aheadReader runs a decompressor on its own goroutine, so decompression
// and decoding overlap on two cores (issue 10's "zstd in its own stage").
// Chunks circulate between two channels and the stream reads records in
// place from them; nothing is allocated after start.
type aheadReader struct {
	full  chan *aheadBuf
	empty chan *aheadBuf
	done  chan struct{}
	once  sync.Once
	pin   atomic.Bool // keep the filling goroutine on its OS thread
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
		a.empty <- &aheadBuf{b: make([]byte, aheadHeadroom+aheadChunk)}
	}
	go a.fill(r, release)
	return a
}

// fill reads chunks until the source ends or fails, or Close is called.
func (a *aheadReader) fill(r io.Reader, release func()) {
	defer release()
	locked := false
	defer func() {
		if locked {
			runtime.UnlockOSThread()
		}
	}()
	for {
		if !locked && a.pin.Load() {
			runtime.LockOSThread()
			locked = true
		}
		var c *aheadBuf
		select {
		case c = <-a.empty:
		case <-a.done:
			return
		}
		// Not io.ReadFull: it turns the decompressor's own
		// io.ErrUnexpectedEOF (a truncated stream) into the one it
		// reports for a short last chunk, which is the normal end.
		buf := c.b[aheadHeadroom:]
		n, err := 0, error(nil)
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
		}
		c.n, c.err = n, err
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

// next returns the next filled chunk. After one that carries an error
// there are no more: the caller must not ask again.
func (a *aheadReader) next() *aheadBuf { return <-a.full }

// release hands a chunk back to be filled again; it never blocks, since at
// most aheadChunks exist.
func (a *aheadReader) release(c *aheadBuf) { a.empty <- c }

// Close tells the goroutine to stop; it releases the decompressor itself.
func (a *aheadReader) Close() {
	a.once.Do(func() { close(a.done) })
}
