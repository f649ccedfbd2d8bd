package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// FlowSource yields a report's flow records one at a time, so that a report
// of many flows need not hold them all as Flow values: the run that made it
// keeps them compactly and renders each one as it is written.
type FlowSource interface {
	// Len is the number of records.
	Len() int
	// Each calls fn with every record in report order (first packet time,
	// then point and frame). The Flow and what it points to belong to fn
	// for good: each call gets a freshly rendered one.
	Each(fn func(*Flow) error) error
	// Refs calls fn with every record's id and point, without rendering
	// the rest.
	Refs(fn func(id, point string))
}

// FlowCount returns the number of flow records, held or from Source.
func (r *Report) FlowCount() int {
	if r.Source != nil {
		return r.Source.Len()
	}
	return len(r.Flows)
}

// EachFlow calls fn with every flow record: those held in Flows, or those
// rendered by Source with the report's renumbered and prefixed ids.
func (r *Report) EachFlow(fn func(*Flow) error) error {
	if r.Source == nil {
		for i := range r.Flows {
			if err := fn(&r.Flows[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return r.Source.Each(func(f *Flow) error {
		f.ID = r.prefix + f.ID
		for j, id := range f.Findings {
			if n, ok := r.renames[id]; ok {
				id = n
			}
			f.Findings[j] = r.prefix + id
		}
		return fn(f)
	})
}

// eachRef calls fn with every flow record's id and point.
func (r *Report) eachRef(fn func(id, point string)) {
	if r.Source == nil {
		for i := range r.Flows {
			fn(r.Flows[i].ID, r.Flows[i].Point)
		}
		return
	}
	r.Source.Refs(func(id, point string) { fn(r.prefix+id, point) })
}

// PrefixIDs puts prefix before every flow and finding id of the report and
// every reference to one, so reports of several groups can be combined.
// Call it after Finish: Finish renumbers findings by their unprefixed ids.
func (r *Report) PrefixIDs(prefix string) {
	for i := range r.Flows {
		f := &r.Flows[i]
		f.ID = prefix + f.ID
		for j := range f.Findings {
			f.Findings[j] = prefix + f.Findings[j]
		}
	}
	r.prefix = prefix + r.prefix
	for i := range r.Findings {
		f := &r.Findings[i]
		f.ID = prefix + f.ID
		for j := range f.Flows {
			f.Flows[j] = prefix + f.Flows[j]
		}
	}
}

// writeJSONStream writes the report as json.Encoder with two-space indent
// writes it, but streams the flows one record at a time.
func writeJSONStream(w io.Writer, r *Report, flows func(bw *bufio.Writer) (int, error)) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	field := func(name string, v any, last bool) error {
		b, err := marshalIndent(v, "  ")
		if err != nil {
			return err
		}
		sep := ",\n"
		if last {
			sep = "\n"
		}
		_, err = fmt.Fprintf(bw, "  %q: %s%s", name, b, sep)
		return err
	}
	bw.WriteString("{\n")
	if err := field("schema", r.Schema, false); err != nil {
		return err
	}
	if err := field("inputs", nonNil(r.Inputs), false); err != nil {
		return err
	}
	if err := field("topology", r.Topology, false); err != nil {
		return err
	}
	bw.WriteString("  \"flows\": [")
	n, err := flows(bw)
	if err != nil {
		return err
	}
	if n > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n")
	if err := field("findings", nonNil(r.Findings), false); err != nil {
		return err
	}
	if err := field("summary", r.Summary, true); err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// nonNil makes a nil list encode as [], as the contract has it.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// encodeFlowsJSON writes r's flows as elements of the report's "flows"
// array, each on a new line, separated by commas.
func encodeFlowsJSON(w io.Writer, r *Report) (int, error) {
	n := 0
	err := r.EachFlow(func(f *Flow) error {
		b, err := json.MarshalIndent(f, "    ", "  ")
		if err != nil {
			return err
		}
		if n > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, "\n    ")
		n++
		_, err = w.Write(b)
		return err
	})
	return n, err
}

// Spool is encoded output held in an unlinked temporary file, so a group's
// records can be encoded on its own goroutine without being held in memory.
// Where no temporary file can be made (a read-only file system) it holds
// them in memory instead, without a bound, so that the audit goes on.
type Spool struct {
	f      *os.File
	w      *bufio.Writer
	mem    []byte
	n      int64
	opened bool // the file was tried (on the first write: an empty spool has none)
}

// NewSpool creates an empty spool.
func NewSpool() *Spool { return &Spool{} }

// Write appends to the spool.
func (s *Spool) Write(p []byte) (int, error) {
	if !s.opened {
		s.opened = true
		if f, err := os.CreateTemp("", "edgeaudit-spool-*"); err == nil {
			os.Remove(f.Name()) // unlinked: gone with the process
			s.f, s.w = f, bufio.NewWriterSize(f, 256<<10)
		}
	}
	if s.f == nil {
		s.mem = append(s.mem, p...)
		s.n += int64(len(p))
		return len(p), nil
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	return n, err
}

// Len is the number of bytes spooled.
func (s *Spool) Len() int64 { return s.n }

// InFile tells whether the spool is a temporary file (not memory).
func (s *Spool) InFile() bool { return s.f != nil }

// Flush writes what is buffered to the file, so that ReadAt sees it.
func (s *Spool) Flush() error {
	if s.f == nil {
		return nil
	}
	return s.w.Flush()
}

// ReadAt reads spooled bytes at off. It only reads, so several goroutines
// may call it at once, but bytes written since the last Flush are not seen.
func (s *Spool) ReadAt(p []byte, off int64) (int, error) {
	if s.f != nil {
		return s.f.ReadAt(p, off)
	}
	if off < 0 || off > int64(len(s.mem)) {
		return 0, io.EOF
	}
	n := copy(p, s.mem[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// section returns bytes [off, off+n) of the spool.
func (s *Spool) section(off, n int64) (io.Reader, error) {
	if s.f == nil {
		return bytes.NewReader(s.mem[off : off+n]), nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, err
	}
	return io.NewSectionReader(s.f, off, n), nil
}

// WriteTo copies everything spooled to w.
func (s *Spool) WriteTo(w io.Writer) (int64, error) {
	r, err := s.section(0, s.n)
	if err != nil {
		return 0, err
	}
	return io.Copy(w, r)
}

// Close releases the spool's file.
func (s *Spool) Close() error {
	s.mem = nil
	if s.f == nil {
		return nil
	}
	f := s.f
	s.f = nil
	return f.Close()
}
