package decode

import (
	"io"
	"sync/atomic"
)

// countingReader counts the raw bytes taken from the file so a progress bar
// on another goroutine can read them without locking.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
