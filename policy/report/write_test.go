package report

import (
	"errors"
	"strings"
	"testing"
)

// countWriter counts the writes it is given, failing from the fail-th on
// when fail > 0.
type countWriter struct {
	writes, fail int
	b            strings.Builder
}

var errDiskFull = errors.New("disk full")

func (w *countWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.fail > 0 && w.writes >= w.fail {
		return 0, errDiskFull
	}
	return w.b.Write(p)
}

// TestWriteTextBuffered checks that the text report reaches its writer in
// one write (not a system call per line) and that a failed write is
// returned, not lost.
func TestWriteTextBuffered(t *testing.T) {
	r := groupReport("g")
	var w countWriter
	if err := WriteText(&w, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if w.writes != 1 || !strings.Contains(w.b.String(), "BUSIEST FLOWS") {
		t.Fatalf("%d writes of %d bytes; want the whole report in one", w.writes, w.b.Len())
	}
	bad := countWriter{fail: 1}
	if err := WriteText(&bad, r, TextOptions{}); !errors.Is(err, errDiskFull) {
		t.Fatalf("failed write gave %v", err)
	}
}
