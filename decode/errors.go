package decode

import (
	"errors"
	"fmt"
)

// ErrNotCapture is wrapped by the error Open and NewReader return for input
// that is neither pcap nor pcapng (after any decompression).
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// ErrRecordTooLarge is wrapped by a DamageError when a record claims more
// captured bytes than ReaderOptions.MaxCapLen: a lying length must not turn
// into an allocation.
var ErrRecordTooLarge = errors.New("record larger than the capture length limit")

// ErrBadBlock is wrapped by a DamageError for a pcapng block whose framing is
// inconsistent (bad length, mismatched trailer, unknown interface).
var ErrBadBlock = errors.New("malformed pcapng block")

// DamageError reports that a capture is damaged part way. Every record before
// the damage has been delivered; the Source returns it once, then io.EOF.
type DamageError struct {
	Path   string
	Frame  uint64 // the number the damaged record would have had
	Offset int64  // byte offset of the damaged record in the decompressed stream
	Err    error
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%s: damaged at packet %d (offset %d): %v", e.Path, e.Frame, e.Offset, e.Err)
}

func (e *DamageError) Unwrap() error { return e.Err }
