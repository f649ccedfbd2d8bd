// Package audit runs captures through the whole pipeline — decode, flows,
// classification, policy verdicts, cross-flow detectors — to a report,
// streaming flows and findings to a sink as they are established. The
// view, audit and live front ends differ only in their sources and sinks.
package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/detect"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// Sink receives results while a run goes on. Calls come from the run's
// goroutine; a sink that hands them to another goroutine must copy.
type Sink interface {
	Flow(f *report.Flow)
	Finding(f *report.Finding) // a new finding, or a known one (same ID) that grew
	Progress(p Progress)
}

// Progress is a snapshot of a run, sent about every 100 ms of work.
type Progress struct {
	Packets    uint64
	Bytes      uint64 // original frame bytes
	BytesRead  int64  // input bytes consumed (compressed, for files)
	BytesTotal int64  // input size, -1 when unknown (pipes, live)
	Flows      uint64
	Active     int
	Findings   int
	Elapsed    time.Duration
	Done       bool
}

// Options configure a run. The zero value audits with the default policy
// and an inferred topology.
type Options struct {
	Topology     *policy.Topology // nil: infer roles from the packets
	TopologyPath string
	Rules        *policy.RuleSet // nil: the embedded default policy
	Flows        flows.Config
	Decoder      decode.DecoderOptions
	Sink         Sink
	// MaxFlowRecords bounds the flow records a report keeps; flows beyond
	// it are still analysed and counted. 0 means DefaultMaxFlowRecords.
	MaxFlowRecords int
	// TopFlows, when positive, keeps only the records of the N flows with
	// the most bytes (the text report's busiest flows), so memory does not
	// grow with the number of flows; Summary.Flows still counts them all.
	TopFlows int
	// LazyFlows leaves the report's flow records in its Source, rendered
	// from the run's spool as they are written, instead of in Flows:
	// memory then holds about 90 bytes per record rather than 700-800.
	LazyFlows bool
	// Now returns the wall clock for progress; tests may fix it.
	Now func() time.Time
	// SingleStage runs reading and analysis on one goroutine (always so
	// when GOMAXPROCS is 1).
	SingleStage bool
}

// Input is one source of packets: a capture file or a live interface.
type Input struct {
	Src  decode.Source
	File *decode.File // nil for live sources
	Path string
	// Name is the capture point's name in the report (the file's base name
	// unless that is ambiguous).
	Name string
}

// DefaultMaxFlowRecords bounds the flow records a report keeps (about 90
// bytes of memory each with LazyFlows, the rest in the spool file; about
// 0.7 KB each held as report.Flow values); the rest are counted, with an
// input finding.
const DefaultMaxFlowRecords = 50_000

// ErrNoInput is returned when not a single input could be read.
var ErrNoInput = errors.New("no input could be read")

// OpenFiles opens capture files for a run. A file that cannot be opened
// becomes an input finding in the returned list of problems rather than
// stopping the others.
func OpenFiles(paths []string) (inputs []*Input, problems []policy.Finding) {
	names := pointNames(paths)
	for i, p := range paths {
		f, err := decode.Open(p)
		if err != nil {
			problems = append(problems, policy.Finding{
				Kind: policy.KindInput, Severity: policy.Error, Requirement: "",
				Message:     fmt.Sprintf("%s could not be read: %v", p, err),
				Consequence: "nothing in this file was audited",
				Fix:         "check the path and that the file is a pcap or pcapng capture (optionally gzip, zstd, lz4, bzip2 or xz compressed)",
				Count:       1,
			})
			continue
		}
		inputs = append(inputs, &Input{Src: f, File: f, Path: p, Name: names[i]})
	}
	return inputs, problems
}

// pointNames names each file by its base name, or by its path where two
// files share a base name.
func pointNames(paths []string) []string {
	seen := map[string]int{}
	for _, p := range paths {
		seen[filepath.Base(p)]++
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		b := filepath.Base(p)
		if p == "-" {
			b = "stdin"
		}
		if seen[b] > 1 {
			b = p
		}
		out[i] = b
	}
	return out
}

// pointsPerInput spaces the point numbers of inputs so that each input's
// interfaces get their own.
const pointsPerInput = 1 << 10

// Run reads every input to its end (or ctx's cancellation), merging them by
// packet time, and returns the report. Problems found while opening are
// added as input findings. It returns ErrNoInput when nothing was readable.
func Run(ctx context.Context, inputs []*Input, problems []policy.Finding, o Options) (*report.Report, error) {
	rep, _, err := execute(ctx, inputs, problems, o)
	return rep, err
}

// Infer runs the inputs without a topology and returns the roles learnt
// from them, for drafting a topology file.
func Infer(ctx context.Context, inputs []*Input, o Options) (*policy.Inferred, *report.Report, error) {
	o.Topology = nil
	rep, r, err := execute(ctx, inputs, nil, o)
	return r.judge.inferred, rep, err
}

func execute(ctx context.Context, inputs []*Input, problems []policy.Finding, o Options) (*report.Report, *run, error) {
	r := newRun(inputs, o)
	for i := range problems {
		r.find.add(&problems[i])
	}
	err := r.loop(ctx)
	rep := r.finish()
	if err != nil {
		return rep, r, err
	}
	if r.packets == 0 && r.readable == 0 {
		return rep, r, ErrNoInput
	}
	return rep, r, nil
}

type source struct {
	in       *Input
	dec      *decode.Decoder
	pkt      decode.Packet
	ready    bool // pkt holds the next frame
	done     bool
	rep      report.Input
	badFirst []uint64 // first frames that failed to decode
	firstNS  int64
	lastNS   int64
	index    int
	err      error  // why reading stopped early, reported at the end
	flows    uint64 // flows ended at this input's points (analysis stage)
}

type run struct {
	o        Options
	srcs     []*source
	table    *flows.Table
	detect   *detect.Detector
	find     *aggregator
	judge    *judge
	rep      report.Report
	packets  uint64
	bytes    uint64
	readable int
	start    time.Time
	lastProg time.Time
	store    *recStore
	recs     records
	spoolErr bool
	points   map[int]string
	early    map[flowRef]string // findings filed when a flow was classified
	canceled atomic.Bool
}

func newRun(inputs []*Input, o Options) *run {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxFlowRecords == 0 {
		o.MaxFlowRecords = DefaultMaxFlowRecords
	}
	r := &run{o: o, find: newAggregator(o.Sink), points: map[int]string{}, early: map[flowRef]string{}}
	r.judge = newJudge(o)
	r.store = &recStore{held: !o.LazyFlows}
	r.recs = records{store: r.store, max: o.MaxFlowRecords, top: o.TopFlows}
	for i, in := range inputs {
		s := &source{in: in, dec: decode.NewDecoder(o.Decoder), index: i}
		if in.File != nil {
			in.File.BasePoint = i * pointsPerInput
			s.rep = report.Input{Path: in.Path, Point: in.Name, Format: in.File.Format, Compression: in.File.Compression}
		} else {
			s.rep = report.Input{Path: in.Path, Point: in.Name, Format: "live", Compression: "none"}
		}
		r.srcs = append(r.srcs, s)
	}
	dt := o.Topology
	if dt != nil && dt.Source == policy.SourceInferred {
		dt = nil
	}
	r.detect = detect.New(detect.Config{Topology: dt, PointName: r.pointName, Emit: r.detected})
	r.table = flows.NewTable(o.Flows, flows.Hooks{
		End:     r.flowEnd,
		Decided: r.flowDecided,
		STUN:    r.detect.STUN,
		Packet:  r.packetHook,
	})
	return r
}

// advance reads the next decodable frame of s into s.pkt. It runs on the
// reader stage: it touches only s and the reader's counters.
func (r *run) advance(s *source) {
	for {
		err := s.in.Src.Next(&s.pkt)
		if err != nil {
			s.done, s.ready = true, false
			if !errors.Is(err, io.EOF) {
				s.err = err
			}
			return
		}
		s.count(&s.pkt)
		if err := s.dec.Decode(&s.pkt); err != nil {
			s.badFrame(s.pkt.Frame)
			continue
		}
		s.ready = true
		return
	}
}

// count accounts a frame read from s, decodable or not.
func (s *source) count(p *decode.Packet) {
	s.rep.Packets++
	s.rep.Bytes += uint64(p.WireLen)
	if s.firstNS == 0 || p.Time < s.firstNS {
		s.firstNS = p.Time
	}
	if p.Time > s.lastNS {
		s.lastNS = p.Time
	}
}

func (s *source) badFrame(frame uint64) {
	s.rep.DecodeErrors++
	if len(s.badFirst) < 5 {
		s.badFirst = append(s.badFirst, frame)
	}
}

// packet is the per-packet work after decoding, the same for files and
// live sources: ICMP errors go to the detectors, TCP and UDP to the flows.
func (r *run) packet(p *decode.Packet) {
	if p.Proto == decode.ProtoICMP || p.Proto == decode.ProtoICMPv6 {
		r.detect.ICMP(p)
	} else {
		r.table.Packet(p)
	}
}

// batch carries decoded packets from the reader stage to the analysis
// stage. Payloads are copied into buf (the reader's buffers are reused);
// frame bytes are not carried, nothing after decoding needs them.
type batch struct {
	pkts    []decode.Packet
	buf     []byte
	packets uint64 // frames read so far, for progress
	bytes   uint64
}

// A batch is about 384 KB (512 packets of 256 bytes, and their payloads);
// four in flight keep both stages busy, more would only hold memory.
const (
	batchPackets = 512
	batchBytes   = 256 << 10
	batchesAhead = 4
)

// twoStages tells whether reading and analysis should run on two
// goroutines with procs cores. Not on one core; nor on two when every
// input is slow to decompress: the decompressor then keeps a core busy on
// its own goroutine, and one more goroutine than cores would only take
// turns with it.
func (r *run) twoStages(procs int) bool {
	if procs == 1 {
		return false
	}
	if procs > 2 {
		return true
	}
	for _, s := range r.srcs {
		if s.in.File == nil || !s.in.File.DecompressionBound() {
			return true
		}
	}
	return false
}

// soleSlowFile returns the input whose decompressor should keep its OS
// thread (decode.File.KeepDecompressorThread): the run's only input, slow
// to decompress, beside an analysis on one goroutine. Not in a batch's
// parallel jobs (SingleStage), where runs take turns for the cores.
func (r *run) soleSlowFile(procs int) *decode.File {
	if r.o.SingleStage || len(r.srcs) != 1 || r.twoStages(procs) {
		return nil
	}
	if f := r.srcs[0].in.File; f != nil && f.DecompressionBound() {
		return f
	}
	return nil
}

// loop runs the file pipeline, in two stages on two goroutines when
// twoStages says so: reading, merging by time and decoding on one, flows,
// classification, verdicts and detectors on the other, in the same order,
// so results are those of a single-threaded run.
func (r *run) loop(ctx context.Context) error {
	r.start = r.o.Now()
	r.lastProg = r.start
	procs := runtime.GOMAXPROCS(0)
	if f := r.soleSlowFile(procs); f != nil {
		f.KeepDecompressorThread()
	}
	if r.o.SingleStage || !r.twoStages(procs) {
		return r.loopSingle(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan *batch, batchesAhead)
	free := make(chan *batch, batchesAhead+2)
	for i := 0; i < batchesAhead+2; i++ {
		free <- &batch{pkts: make([]decode.Packet, 0, batchPackets), buf: make([]byte, 0, batchBytes)}
	}
	readErr := make(chan error, 1)
	go func() { readErr <- r.read(ctx, full, free) }()
	var err error
	for b := range full {
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			for i := range b.pkts {
				r.packet(&b.pkts[i])
			}
			r.packets, r.bytes = b.packets, b.bytes
			r.progress(false)
		}
		free <- b
	}
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	return err
}

// loopSingle is the pipeline on one goroutine, for one core (where handing
// batches over would only cost) and to check the two-stage run against.
func (r *run) loopSingle(ctx context.Context) error {
	for _, s := range r.srcs {
		r.advance(s)
		if s.ready || s.rep.Packets > 0 {
			r.readable++
		}
	}
	defer r.countSources()
	for n := uint64(1); ; n++ {
		var next *source
		for _, s := range r.srcs {
			if s.ready && (next == nil || s.pkt.Time < next.pkt.Time) {
				next = s
			}
		}
		if next == nil {
			return nil
		}
		r.packet(&next.pkt)
		r.advance(next)
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			r.countSources()
			r.progress(false)
		}
	}
}

// countSources totals the frames read, for progress.
func (r *run) countSources() {
	r.packets, r.bytes = 0, 0
	for _, s := range r.srcs {
		r.packets += s.rep.Packets
		r.bytes += s.rep.Bytes
	}
}

// read is the reader stage: it merges the sources by packet time and hands
// decoded packets over in batches. It owns the sources until it returns.
func (r *run) read(ctx context.Context, full, free chan *batch) error {
	defer close(full)
	for _, s := range r.srcs {
		r.advance(s)
		if s.ready || s.rep.Packets > 0 {
			r.readable++
		}
	}
	var packets, bytes uint64
	for _, s := range r.srcs {
		packets += s.rep.Packets
		bytes += s.rep.Bytes
	}
	var b *batch
	for {
		// Merge by time: the few inputs of one run make a linear scan
		// cheaper than a heap.
		var next *source
		for _, s := range r.srcs {
			if s.ready && (next == nil || s.pkt.Time < next.pkt.Time) {
				next = s
			}
		}
		if next == nil {
			break
		}
		if b == nil {
			select {
			case b = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			b.pkts, b.buf = b.pkts[:0], b.buf[:0]
		}
		b.add(&next.pkt)
		np, nb := next.rep.Packets, next.rep.Bytes
		r.advance(next)
		packets += next.rep.Packets - np
		bytes += next.rep.Bytes - nb
		if len(b.pkts) == cap(b.pkts) || len(b.buf) > batchBytes-65536 {
			b.packets, b.bytes = packets, bytes
			full <- b
			b = nil
		}
	}
	if b != nil {
		b.packets, b.bytes = packets, bytes
		full <- b
	}
	return nil
}

// add copies a decoded packet into the batch.
func (b *batch) add(p *decode.Packet) {
	start := len(b.buf)
	b.buf = append(b.buf, p.Payload...)
	b.pkts = append(b.pkts, *p)
	q := &b.pkts[len(b.pkts)-1]
	q.Data = nil
	q.Payload = b.buf[start:len(b.buf):len(b.buf)]
}

func (r *run) progress(done bool) {
	if r.o.Sink == nil {
		return
	}
	now := r.o.Now()
	if !done && now.Sub(r.lastProg) < 100*time.Millisecond {
		return
	}
	r.lastProg = now
	var read, total int64
	for _, s := range r.srcs {
		if s.in.File != nil {
			read += s.in.File.BytesRead()
			if s.in.File.Size < 0 || total < 0 {
				total = -1
			} else {
				total += s.in.File.Size
			}
		} else {
			total = -1
		}
	}
	st := r.table.Stats()
	r.o.Sink.Progress(Progress{Packets: r.packets, Bytes: r.bytes, BytesRead: read, BytesTotal: total,
		Flows: st.Flows, Active: st.Active, Findings: r.find.len(), Elapsed: now.Sub(r.start), Done: done})
}

func (r *run) inputError(s *source, err error) {
	s.rep.Error = err.Error()
	f := policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: 1,
		Message:     fmt.Sprintf("%s: reading stopped early: %v", s.in.Path, err),
		Consequence: "packets after this point were not audited",
		Fix:         "the capture is damaged or truncated; re-copy it or capture again",
	}
	var de *decode.DamageError
	if errors.As(err, &de) {
		f.Message = fmt.Sprintf("%s is damaged at frame %d (byte offset %d): %v; the %d frames before it were audited",
			s.in.Path, de.Frame, de.Offset, de.Err, de.Frame-1)
		f.Evidence = []policy.Evidence{{Point: s.in.Name, Packet: de.Frame, Detail: "offset " + strconv.FormatInt(de.Offset, 10) + ": " + de.Err.Error()}}
	}
	r.find.add(&f)
}

func (r *run) finish() *report.Report {
	for _, s := range r.srcs {
		if s.err != nil {
			r.inputError(s, s.err)
		}
	}
	r.table.Flush()
	r.detect.Finish(r.detected)
	r.judge.finish(r)
	order := r.recs.order()
	r.linkFindings(order)
	src := &recSource{store: r.store, order: order, names: map[int]string{}}
	for _, i := range order {
		p := int(r.store.meta(i).point)
		if _, ok := src.names[p]; !ok {
			src.names[p] = r.pointName(p)
		}
	}
	if r.o.LazyFlows {
		r.rep.Source = src
	} else {
		r.rep.Flows = make([]report.Flow, 0, len(order))
		if err := src.Each(func(f *report.Flow) error {
			r.rep.Flows = append(r.rep.Flows, *f)
			return nil
		}); err != nil {
			r.spoolError(err)
		}
		r.store.close()
	}
	st := r.table.Stats()
	for _, s := range r.srcs {
		if s.rep.DecodeErrors > 0 {
			f := policy.Finding{Kind: policy.KindInput, Severity: policy.Info, Count: int(s.rep.DecodeErrors),
				Message: fmt.Sprintf("%s: %d frames could not be decoded and were skipped", s.in.Path, s.rep.DecodeErrors),
				Fix:     "open the listed frames in Wireshark to see why (truncated snap length, unsupported link type or malformed headers)"}
			for _, fr := range s.badFirst {
				f.Evidence = append(f.Evidence, policy.Evidence{Point: s.in.Name, Packet: fr, Detail: "not decodable"})
			}
			r.find.add(&f)
		}
		r.fragFindings(s)
		if s.in.File != nil {
			for _, ifc := range s.in.File.Interfaces() {
				if len(s.in.File.Interfaces()) > 1 {
					s.rep.Points = append(s.rep.Points, r.pointName(s.in.File.BasePoint+ifc.Index))
				}
			}
		}
		s.rep.First, s.rep.Last = report.TimeString(s.firstNS), report.TimeString(s.lastNS)
		s.rep.Flows = s.flows
		r.rep.Inputs = append(r.rep.Inputs, s.rep)
		_ = s.in.Src.Close()
	}
	if st.Evicted > 0 {
		r.find.add(&policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: int(st.Evicted),
			Message: fmt.Sprintf("the flow table was full (%d flows): %d flows were ended early and may be reported in pieces", r.table.Stats().Peak, st.Evicted),
			Fix:     "raise --max-flows if this capture really holds that many concurrent conversations"})
	}
	if st.StreamDropped > 0 || st.BudgetHits > 0 {
		r.find.add(&policy.Finding{Kind: policy.KindInput, Severity: policy.Info, Count: 1,
			Message: fmt.Sprintf("%d payload bytes were not kept for classification because a buffer bound was hit (%d times the total buffer)", st.StreamDropped, st.BudgetHits),
			Fix:     "some flows may be classified as unknown; raise the stream buffer limits to look deeper"})
	}
	if r.recs.dropped > 0 {
		r.find.add(&policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: int(r.recs.dropped),
			Message: fmt.Sprintf("%d flow records were not kept in the report (limit %d); their findings are still counted", r.recs.dropped, r.o.MaxFlowRecords),
			Fix:     "raise --max-flow-records for a report with every flow (about 90 bytes of memory and 200 bytes of temporary file per flow)"})
	}
	r.rep.Findings = r.find.all()
	r.rep.Topology = r.judge.topologyInfo()
	r.rep.Topology.Unchecked = append(r.rep.Topology.Unchecked, r.detect.Unchecked()...)
	r.rep.Finish()
	r.rep.Summary.Flows = r.recs.count // kept records may be only the busiest
	r.progress(true)
	return &r.rep
}

// pointName names a capture point: the input's name, with the interface
// when a file has several.
func (r *run) pointName(point int) string {
	if n, ok := r.points[point]; ok {
		return n
	}
	idx := point / pointsPerInput
	name := strconv.Itoa(point)
	if idx < len(r.srcs) {
		s := r.srcs[idx]
		name = s.in.Name
		if s.in.File != nil {
			ifs := s.in.File.Interfaces()
			if len(ifs) > 1 {
				i := point - s.in.File.BasePoint
				suffix := "if" + strconv.Itoa(i)
				if i < len(ifs) && ifs[i].Name != "" {
					suffix = ifs[i].Name
				}
				name += ":" + suffix
			}
		}
	}
	r.points[point] = name
	return name
}

// fragFindings reports the IP reassembly bounds a source hit: fragments
// dropped are payload the analysis did not see.
func (r *run) fragFindings(s *source) {
	fs := s.dec.Stats().Frag
	if n := fs.Evictions + fs.TooMany; n > 0 {
		r.find.add(&policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: int(n),
			Message: fmt.Sprintf("%s: %d fragmented IP datagrams were dropped unassembled because a reassembly bound was hit (pending datagrams, bytes or fragments per datagram)", s.in.Path, n),
			Fix:     "a flood of fragments or a very lossy capture; raise the fragment limits to reassemble more"})
	}
	if n := fs.Timeouts + fs.Overlaps + fs.Invalid + fs.Truncated; n > 0 {
		r.find.add(&policy.Finding{Kind: policy.KindInput, Severity: policy.Info, Count: int(n),
			Message: fmt.Sprintf("%s: %d IP datagrams could not be reassembled (%d incomplete, %d overlapping, %d malformed, %d cut by the snap length)",
				s.in.Path, n, fs.Timeouts, fs.Overlaps, fs.Invalid, fs.Truncated)})
	}
}

// packetHook hands the detectors the TCP control packets they pair across
// flows (SYN, SYN-ACK, RST); everything else they learn from events.
func (r *run) packetHook(f *flows.Flow, d flows.Dir, p *decode.Packet) {
	if p.Proto == decode.ProtoTCP && p.TCPFlags&(decode.TCPSyn|decode.TCPRst) != 0 {
		r.detect.TCP(f, d, p)
	}
}

// detected files a finding a cross-flow detector established.
func (r *run) detected(f *policy.Finding) { r.find.add(f) }

// linkFindings points each kept flow record at the cross-flow findings
// that name it, so a flow's record lists every finding about it.
func (r *run) linkFindings(kept []int32) {
	var at map[flowRef]int32
	for _, f := range r.find.order {
		for _, id := range f.Flows {
			if at == nil {
				at = make(map[flowRef]int32, len(kept))
				for _, i := range kept {
					m := r.store.meta(i)
					at[flowRef{int(m.point), m.frame}] = i
				}
			}
			ref, ok := parseFlowID(id)
			if !ok {
				continue
			}
			i, ok := at[ref]
			if !ok {
				continue
			}
			m := r.store.meta(i)
			if m.extra == nil || !slices.Contains(m.extra.findings, f.ID) {
				m.more().findings = append(m.more().findings, f.ID)
			}
		}
	}
}

// spoolError reports, once, flow records lost because the spool that holds
// them failed (a full disk).
func (r *run) spoolError(err error) {
	if r.spoolErr {
		return
	}
	r.spoolErr = true
	r.find.add(&policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: 1,
		Message: fmt.Sprintf("flow records could not be kept: %v; some are missing from the report or were judged without inferred roles", err),
		Fix:     "make room in the temporary directory ($TMPDIR) and audit again"})
}
