package decode

import (
	"io"
	"runtime"
	"sync"
)

// Read-ahead geometry: a few chunks in flight keep the decompressor busy
// while the pipeline works through the previous ones. Each chunk has room
// before its data for the unread end of the previous one, so a record
// across two chunks is joined by copying that end, not the chunk: every
// ordinary frame fits (64 KiB, a TSO super-frame included); a longer
// record across chunks costs a copy of the next chunk.
//
// Read chunks go back to the decompressor aheadGroup at a time: a fast
// decompressor (zstd) outruns the analysis and waits for free chunks, and
// waking it for every chunk cost more than the wait. In groups of four
// the workload's zstd audit took a median 0.96x the time (10 alternated
// pairs). A group must leave it a chunk to fill: aheadGroup < aheadChunks.
const (
	aheadChunk    = 256 << 10
	aheadHeadroom = 64 << 10
	aheadChunks   = 8
	aheadGroup    = aheadChunks / 2
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
	read  []*aheadBuf // read chunks not yet handed back (the reader's)
}

// newAheadReader starts reading r. release is called by the reading
// goroutine when it stops, so the decompressor is freed only once nothing
// uses it, without Close having to wait for a read blocked on a pipe.
// pinned keeps the reading goroutine on one thread, for a decompressor
// slower than everything after it (see fill).
func newAheadReader(r io.Reader, release func(), pinned bool) *aheadReader {
	a := &aheadReader{
		full:  make(chan *aheadBuf, aheadChunks),
		empty: make(chan *aheadBuf, aheadChunks),
		done:  make(chan struct{}),
		read:  make([]*aheadBuf, 0, aheadGroup),
	}
	for range aheadChunks {
		a.empty <- &aheadBuf{b: make([]byte, aheadHeadroom+aheadChunk)}
	}
	go a.fill(r, release, pinned)
	return a
}

// fill reads chunks until the source ends or fails, or Close is called.
func (a *aheadReader) fill(r io.Reader, release func(), pinned bool) {
	defer release()
	if pinned {
		// A slow decompressor (gzip) sets the pace of the whole run and
		// almost never waits; each chunk it hands over wakes the analysis,
		// and the scheduler then often moved the decompressor to another
		// thread, and core, away from its warm cache. Kept on its thread
		// the workload's gzip audit went from a median 1.11x decompression
		// alone to 1.01x (10 alternated runs each). Not for zstd: there
		// the decompressor waits for the analysis, and a pinned thread
		// then costs a thread switch each time (measured slower).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for {
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

// release hands a chunk back to be filled again, with others once there
// are aheadGroup of them; it never blocks, since at most aheadChunks exist.
func (a *aheadReader) release(c *aheadBuf) {
	if a.read = append(a.read, c); len(a.read) == aheadGroup {
		for _, c := range a.read {
			a.empty <- c
		}
		a.read = a.read[:0]
	}
}

// Close tells the goroutine to stop; it releases the decompressor itself.
func (a *aheadReader) Close() {
	a.once.Do(func() { close(a.done) })
}
