package report

import (
	"errors"
	"io"
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

// failingSource is a flow source that fails.
type failingSource struct{ sliceSource }

var errSpool = errors.New("spool unreadable")

func (failingSource) Each(func(*Flow) error) error { return errSpool }

// TestWriteTextBuffered checks that a text report, and a batch's with its
// table of files, reach their writer in one write (not a system call per
// line), that a failed write is returned, not lost, and that what was
// written before a failing flow source is still written out.
func TestWriteTextBuffered(t *testing.T) {
	m := &Merger{DropFlows: true}
	m.Add(0, groupReport("g1"), "g1")
	for name, write := range map[string]func(w io.Writer) error{
		"report": func(w io.Writer) error { return WriteText(w, groupReport("g"), TextOptions{}) },
		"merged": func(w io.Writer) error { return m.WriteText(w, TextOptions{}) },
	} {
		var w countWriter
		if err := write(&w); err != nil {
			t.Fatal(err)
		}
		if w.writes != 1 || !strings.Contains(w.b.String(), "BUSIEST FLOWS") {
			t.Fatalf("%s: %d writes of %d bytes; want the whole report in one", name, w.writes, w.b.Len())
		}
		bad := countWriter{fail: 1}
		if err := write(&bad); !errors.Is(err, errDiskFull) {
			t.Fatalf("%s: failed write gave %v", name, err)
		}
	}
	r := groupReport("g")
	r.Flows, r.Source = nil, failingSource{}
	var w countWriter
	if err := WriteText(&w, r, TextOptions{}); !errors.Is(err, errSpool) || !strings.Contains(w.b.String(), "FINDINGS") {
		t.Fatalf("failing flow source gave %v after %q", err, w.b.String())
	}
}
