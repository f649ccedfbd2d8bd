package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// Live sources. Files are merged by packet time by Run's loop, which
// holds the next frame of every input and so would stall on a quiet
// interface. A live run instead reads each interface on its own goroutine
// into batches (frames copied into reused buffers, several per batch so
// the channel is not crossed per frame) and the run consumes the batches
// in arrival order on one goroutine, the same flow table, decoders,
// judge and aggregator as a file run. A ticker converts the wall clock to
// capture time so flows expire when traffic stops, snapshots open flows
// every FlowInterval, and reads the kernel drop counters.

// LiveSource is a live input: a decode.Source that can also be polled
// without blocking (to fill a batch with what is already queued) and that
// counts kernel drops. *decode.Live is one.
type LiveSource interface {
	decode.Source
	TryNext(p *decode.Packet) (bool, error)
	Stats() (decode.LiveStats, error)
}

// FrameWriter receives every captured frame (e.g. a decode.SegmentWriter
// for --write). iface is the input's index. It is called from a goroutine
// of its own, never after RunLive returns; the caller closes it.
type FrameWriter interface {
	WritePacket(iface int, ts int64, wireLen int, data []byte) error
	Rotate() error
}

// OpenFlowSink is implemented by sinks that want flow records before a
// flow is final: state "open" for a snapshot of a flow still in the table
// (every LiveOptions.FlowInterval), "ended" for a flow that ended but is
// judged only at the end of the run because roles are being inferred (no
// topology). The final record of every flow still goes to Sink.Flow.
type OpenFlowSink interface {
	FlowSnapshot(f *report.Flow, state string)
}

// LiveOptions tune a live run.
type LiveOptions struct {
	// FlowInterval is how often open flows are snapshotted to an
	// OpenFlowSink; 0: never.
	FlowInterval time.Duration
	// Count stops the run after this many frames over all inputs; 0: no limit.
	Count uint64
	// Writer, if set, receives every frame.
	Writer FrameWriter
	// Tick is the period of the clock that expires flows and reads the
	// drop counters; 0 means 250 ms.
	Tick time.Duration
	// Status, if set, is called on every tick with the counters so far,
	// from the run's goroutine.
	Status func(LiveStatus)
}

// LiveStatus is a live run's state for a status line.
type LiveStatus struct {
	Packets  uint64
	Bytes    uint64
	Flows    uint64
	Active   int
	Findings int
	Drops    uint64 // kernel drops over all interfaces
	Elapsed  time.Duration
}

// Batches: sized for bursts, bounded so a stalled pipeline leaves the
// backlog in the kernel's buffer (where it is counted as drops) rather
// than in this process's memory.
const (
	liveBatchFrames = 512
	liveBatchBytes  = 1 << 20
	liveBatches     = 24 // per input: 24 MiB at most
	liveSlack       = 500 * time.Millisecond
)

type liveFrame struct {
	off, n   int
	wire     int
	time     int64
	frame    uint64
	linkType uint16
}

type liveBatch struct {
	src    int
	data   []byte
	frames []liveFrame
	err    error // the reader's last word: io.EOF or a read error
}

// RunLive captures from live inputs until ctx is cancelled, Count frames
// were read or every input failed, then flushes the open flows, runs the
// end-of-input checks and returns the report. Kernel drops become an input
// finding.
func RunLive(ctx context.Context, inputs []*Input, problems []policy.Finding, o Options, lo LiveOptions) (*report.Report, error) {
	if len(inputs) == 0 {
		return nil, ErrNoInput
	}
	if lo.Tick <= 0 {
		lo.Tick = 250 * time.Millisecond
	}
	r := newRun(inputs, o)
	for i := range problems {
		r.find.add(&problems[i])
	}
	r.start = r.o.Now()
	r.lastProg = r.start
	l := newLiveLoop(r, inputs, lo)
	l.run(ctx)
	l.drops()
	rep := r.finish()
	return rep, nil
}

type liveLoop struct {
	r      *run
	lo     LiveOptions
	in     chan *liveBatch
	free   []chan *liveBatch
	wq     chan *liveBatch
	wdone  chan struct{}
	live   []LiveSource
	rdrs   sync.WaitGroup
	nread  int // readers still running
	frames uint64

	lastPkt    int64     // capture time of the latest frame
	lastPktAt  time.Time // wall time it was processed
	lastSnap   time.Time
	pendingOut int // pending (unjudged) records already snapshotted
	dropped    []uint64
	werr       error
}

func newLiveLoop(r *run, inputs []*Input, lo LiveOptions) *liveLoop {
	l := &liveLoop{r: r, lo: lo, in: make(chan *liveBatch, liveBatches*len(inputs)), dropped: make([]uint64, len(inputs))}
	for i, in := range inputs {
		ls, _ := in.Src.(LiveSource)
		l.live = append(l.live, ls)
		fc := make(chan *liveBatch, liveBatches)
		for range liveBatches {
			fc <- &liveBatch{src: i, data: make([]byte, 0, liveBatchBytes), frames: make([]liveFrame, 0, liveBatchFrames)}
		}
		l.free = append(l.free, fc)
	}
	return l
}

// read is one input's reader goroutine.
func (l *liveLoop) read(i int, src decode.Source, poll LiveSource) {
	defer l.rdrs.Done()
	var p decode.Packet
	for {
		b := <-l.free[i]
		b.data, b.frames, b.err = b.data[:0], b.frames[:0], nil
		err := src.Next(&p)
		for err == nil {
			if len(b.data)+len(p.Data) > cap(b.data) && len(b.frames) > 0 {
				// No room: send what we have, continue in a fresh batch.
				l.in <- b
				b = <-l.free[i]
				b.data, b.frames, b.err = b.data[:0], b.frames[:0], nil
			}
			data := p.Data
			if len(data) > cap(b.data) {
				data = data[:cap(b.data)]
			}
			off := len(b.data)
			b.data = append(b.data, data...)
			b.frames = append(b.frames, liveFrame{off: off, n: len(data), wire: p.WireLen, time: p.Time, frame: p.Frame, linkType: p.LinkType})
			if len(b.frames) == cap(b.frames) || poll == nil {
				break
			}
			var ok bool
			ok, err = poll.TryNext(&p)
			if !ok && err == nil {
				break
			}
		}
		if err != nil {
			b.err = err
			l.in <- b
			return
		}
		l.in <- b
	}
}

func (l *liveLoop) run(ctx context.Context) {
	r := l.r
	if l.lo.Writer != nil {
		l.wq = make(chan *liveBatch, liveBatches*len(r.srcs))
		l.wdone = make(chan struct{})
		go l.write()
	}
	for i, s := range r.srcs {
		l.rdrs.Add(1)
		l.nread++
		go l.read(i, s.in.Src, l.live[i])
	}
	tick := time.NewTicker(l.lo.Tick)
	defer tick.Stop()
	l.lastSnap = r.o.Now()
	stopping := false
	stop := func() {
		if !stopping {
			stopping = true
			for _, s := range r.srcs {
				_ = s.in.Src.Close() // unblocks its reader; Close is idempotent
			}
		}
	}
	done := ctx.Done()
	for l.nread > 0 {
		select {
		case b := <-l.in:
			l.batch(b)
			if l.lo.Count > 0 && l.frames >= l.lo.Count {
				stop()
			}
		case <-tick.C:
			l.tick()
		case <-done:
			done = nil
			stop()
		}
	}
	l.rdrs.Wait()
	if l.wq != nil {
		close(l.wq)
		<-l.wdone
		if l.werr != nil {
			r.find.add(&policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: 1,
				Message: fmt.Sprintf("writing the capture segments failed: %v; frames after it were analysed but not written", l.werr),
				Fix:     "check the --write directory's free space and permissions"})
		}
	}
	l.tick()
}

// batch processes one reader's batch on the run goroutine.
func (l *liveLoop) batch(b *liveBatch) {
	r := l.r
	s := r.srcs[b.src]
	for _, f := range b.frames {
		if l.lo.Count > 0 && l.frames >= l.lo.Count {
			break
		}
		l.frames++
		p := &s.pkt
		p.Point = b.src * pointsPerInput
		p.Frame = f.frame
		p.Offset = 0
		p.Time = f.time
		p.WireLen = f.wire
		p.LinkType = f.linkType
		p.Data = b.data[f.off : f.off+f.n]
		l.frame(s)
	}
	if len(b.frames) > 0 {
		l.lastPkt = max(l.lastPkt, b.frames[len(b.frames)-1].time)
		l.lastPktAt = r.o.Now()
	}
	if b.err != nil {
		l.nread--
		if !errors.Is(b.err, io.EOF) {
			r.inputError(s, b.err)
		}
	}
	if l.wq != nil && len(b.frames) > 0 {
		l.wq <- b // the writer hands it back
		return
	}
	l.free[b.src] <- b
}

// frame accounts, decodes and tables one frame, as Run's advance and loop
// do for files.
func (l *liveLoop) frame(s *source) {
	r := l.r
	p := &s.pkt
	s.rep.Packets++
	s.rep.Bytes += uint64(p.WireLen)
	r.packets++
	r.bytes += uint64(p.WireLen)
	if s.firstNS == 0 || p.Time < s.firstNS {
		s.firstNS = p.Time
	}
	if p.Time > s.lastNS {
		s.lastNS = p.Time
	}
	if err := s.dec.Decode(p); err != nil {
		s.rep.DecodeErrors++
		if len(s.badFirst) < 5 {
			s.badFirst = append(s.badFirst, p.Frame)
		}
		return
	}
	r.livePacket(p)
}

// livePacket is the per-packet work of the pipeline. It must stay the same
// as the body of Run's loop: when that changes, factor both into one
// method (the lead's audit.go owns the loop).
func (r *run) livePacket(p *decode.Packet) { r.packet(p) }

// liveClock advances the packet clock to now (capture time) when no packet
// did: flows idle past their timeout end, and the detectors' pending
// transactions expire, although traffic stopped.
func (r *run) liveClock(now int64) {
	r.table.Advance(now)
	r.detect.Advance(now)
}

func (l *liveLoop) write() {
	defer close(l.wdone)
	for b := range l.wq {
		if l.werr == nil {
			for _, f := range b.frames {
				if err := l.lo.Writer.WritePacket(b.src, f.time, f.wire, b.data[f.off:f.off+f.n]); err != nil {
					l.werr = err
					break
				}
			}
		}
		l.free[b.src] <- b
	}
}

func (l *liveLoop) tick() {
	r := l.r
	now := r.o.Now()
	if l.lastPkt > 0 {
		// The capture clock is the kernel's timestamp of the latest frame
		// plus the wall time since it was processed, less a slack for
		// frames still queued.
		c := l.lastPkt + int64(now.Sub(l.lastPktAt)-liveSlack)
		r.liveClock(c)
	}
	l.pending()
	if l.lo.FlowInterval > 0 && now.Sub(l.lastSnap) >= l.lo.FlowInterval {
		l.lastSnap = now
		l.snapshot()
	}
	l.drops()
	if l.lo.Writer != nil && l.wq != nil {
		// Rotation by time when traffic stops; the writer's mutex
		// serialises with the writing goroutine.
		if err := l.lo.Writer.Rotate(); err != nil && l.werr == nil {
			l.werr = err
		}
	}
	r.progress(false)
	if l.lo.Status != nil {
		st := r.table.Stats()
		var d uint64
		for _, x := range l.dropped {
			d += x
		}
		l.lo.Status(LiveStatus{Packets: r.packets, Bytes: r.bytes, Flows: st.Flows, Active: st.Active,
			Findings: r.find.len(), Drops: d, Elapsed: now.Sub(r.start)})
	}
}

// pending hands flows that ended while roles are still being inferred to
// an OpenFlowSink, so a live run without a topology still streams them.
func (l *liveLoop) pending() {
	r := l.r
	snap, ok := r.o.Sink.(OpenFlowSink)
	if !ok {
		return
	}
	for ; l.pendingOut < len(r.judge.pending); l.pendingOut++ {
		i := r.judge.pending[l.pendingOut]
		if !r.store.meta(i).kept {
			continue
		}
		var fr flowRec
		if err := r.store.load(i, &fr); err != nil {
			r.spoolError(err)
			continue
		}
		rec := fr.render(r.pointName(int(fr.point)))
		snap.FlowSnapshot(&rec, "ended")
	}
}

// snapshot sends a record of every open flow, with its verdict so far
// when the topology is known (no finding is filed for an open flow).
func (l *liveLoop) snapshot() {
	r := l.r
	snap, ok := r.o.Sink.(OpenFlowSink)
	if !ok {
		return
	}
	r.table.Each(func(f *flows.Flow) {
		var fr flowRec
		fr.set(f)
		if r.judge.engine != nil {
			ff := fr.facts()
			v := r.verdict(&ff)
			fr.verdict(&v, "")
		}
		rec := fr.render(r.pointName(f.Point))
		snap.FlowSnapshot(&rec, "open")
	})
}

// drops files (or grows) an input finding per interface whose kernel
// counters show drops.
func (l *liveLoop) drops() {
	r := l.r
	for i, ls := range l.live {
		if ls == nil {
			continue
		}
		st, err := ls.Stats()
		if err != nil || st.Dropped <= l.dropped[i] {
			continue
		}
		l.dropped[i] = st.Dropped
		name := r.srcs[i].in.Name
		f := policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: int(min(st.Dropped, 1<<31)),
			Subject: "kernel drops " + name,
			Message: fmt.Sprintf("%s: the kernel dropped %d of %d frames because edgeaudit did not read them fast enough; flows and findings around them may be incomplete",
				name, st.Dropped, st.Received),
			Consequence: "dropped frames were not audited: a missing answer may look like a one-way flow",
			Fix:         "capture with a filter (-f), a smaller --snaplen, fewer interfaces, or on a faster machine",
		}
		key := aggregateKey(&f)
		if g, ok := r.find.byKey[key]; ok {
			g.Message, g.Count = f.Message, f.Count
			r.find.emit(g)
			continue
		}
		r.find.add(&f)
	}
}
