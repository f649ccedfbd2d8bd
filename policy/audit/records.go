package audit

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// flowRec is what a run keeps of an ended flow until its report is written:
// the facts the policy judges and the numbers the report shows, rendered to
// a report.Flow only when written. It lives in the spool (recStore), encoded
// in about 200 bytes; this form is the scratch copy of the record at hand.
type flowRec struct {
	label          flows.Label
	client, server flows.Endpoint
	packets        [2]uint64
	bytes          [2]uint64
	payload        [2]uint64
	first, last    int64
	frame          uint64
	point          int32
	proto          uint8
	hasMAC         bool
	orphanSYNACK   bool
	clientMAC      [6]byte
	serverMAC      [6]byte
	clientRole     policy.Role
	serverRole     policy.Role
	end            string // constants of the flow table
	rule           string // a rule id of the rule set
	app            string // the verdict's app where it refines the label's
	findings       []string
}

func (fr *flowRec) set(f *flows.Flow) {
	*fr = flowRec{
		label: f.Label, client: f.Client, server: f.Server,
		packets: f.Packets, bytes: f.Bytes, payload: f.PayloadBytes,
		first: f.First, last: f.Last, frame: f.FirstFrame, point: int32(f.Point), proto: f.Proto,
		orphanSYNACK: f.Proto == 6 && f.TCP.SYNACK && !f.TCP.SYN,
		end:          f.EndReason,
	}
	if m := f.MAC[flows.C2S]; m.Seen {
		fr.hasMAC, fr.clientMAC, fr.serverMAC = true, m.Src, m.Dst
	}
}

// facts is what the policy engine judges a flow on.
func (fr *flowRec) facts() policy.FlowFacts {
	l := &fr.label
	return policy.FlowFacts{
		Transport:     fr.proto,
		Client:        fr.client.AddrPort(),
		Server:        fr.server.AddrPort(),
		App:           l.App.String(),
		Detail:        l.Detail,
		TLS:           l.TLS,
		PseudoTLS:     l.PseudoTLS,
		HandshakeSeen: l.HandshakeSeen,
		MutualTLS:     l.Mutual,
		SNI:           l.SNI,
		Answered:      fr.packets[flows.S2C] > 0,
		PacketsC2S:    fr.packets[flows.C2S],
		PacketsS2C:    fr.packets[flows.S2C],
		PayloadC2S:    fr.payload[flows.C2S],
		PayloadS2C:    fr.payload[flows.S2C],
		OrphanSYNACK:  fr.orphanSYNACK,
		HasMAC:        fr.hasMAC,
		ClientMAC:     fr.clientMAC,
		ServerMAC:     fr.serverMAC,
	}
}

// verdict writes a verdict into the record.
func (fr *flowRec) verdict(v *policy.Verdict, findingID string) {
	fr.clientRole, fr.serverRole, fr.rule = v.ClientRole, v.ServerRole, v.Rule
	if v.App != "" && v.App != fr.label.App.String() {
		fr.app = v.App
	}
	if findingID != "" {
		fr.findings = append(fr.findings, findingID)
	}
}

func (fr *flowRec) id() string { return flowID(int(fr.point), fr.frame) }

func (fr *flowRec) total() uint64 { return fr.bytes[0] + fr.bytes[1] }

// render makes the report's record; point names the capture point.
func (fr *flowRec) render(point string) report.Flow {
	rec := report.Flow{
		ID:          fr.id(),
		CommunityID: flows.CommunityID(fr.proto, fr.client, fr.server),
		Point:       point,
		Transport:   transportName(fr.proto),
		Client:      fr.client.String(),
		Server:      fr.server.String(),
		App:         fr.label.App.String(),
		AppDetail:   fr.label.Detail,
		Packets:     report.Dirs{C2S: fr.packets[flows.C2S], S2C: fr.packets[flows.S2C]},
		Bytes:       report.Dirs{C2S: fr.bytes[flows.C2S], S2C: fr.bytes[flows.S2C]},
		First:       report.TimeString(fr.first),
		Last:        report.TimeString(fr.last),
		End:         fr.end,
		Evidence:    fr.label.Why,
		Details:     details(&fr.label),
		FirstNS:     fr.first,
		PointIndex:  int(fr.point),
		FirstFrame:  fr.frame,
		Findings:    slices.Clone(fr.findings),
	}
	if fr.app != "" {
		rec.App = fr.app
	}
	if fr.clientRole != 0 {
		rec.ClientRole = fr.clientRole.String()
	}
	if fr.serverRole != 0 {
		rec.ServerRole = fr.serverRole.String()
	}
	if fr.rule != "" {
		rule := fr.rule
		rec.Rule = &rule
	}
	return rec
}

// details turns a label's protocol facts into the report's map. Values are
// packet-derived: writers for terminals pass them through Printable.
func details(l *flows.Label) map[string]string {
	if len(l.Details) == 0 {
		return nil
	}
	d := make(map[string]string, len(l.Details))
	for _, kv := range l.Details {
		d[kv.Key] = kv.Value
	}
	return d
}

// recMeta is what stays in memory of a flow record: where its bytes sit in
// the spool (or the record itself, for the few busiest of a text report),
// its sort keys and its verdict. About 90 bytes a flow.
type recMeta struct {
	off        int64
	first      int64
	frame      uint64
	bytes      uint64 // both directions, for the busiest
	point      int32
	n          uint32 // encoded length; 0: not spooled
	clientRole policy.Role
	serverRole policy.Role
	kept       bool // a report record
	pending    bool // waiting for inferred roles
	rule       string
	mem        *flowRec // held in memory (busiest-flows mode)
	extra      *recExtra
}

// recExtra is the rarer part of a verdict.
type recExtra struct {
	app      string
	findings []string
}

// recStore keeps flow records out of the heap: encoded in an unlinked
// temporary file (memory only if no file can be made), with an in-memory
// recMeta each, in fixed chunks so that growing never copies them. With
// held set it keeps them as they are in memory instead, for a report that
// will hold every one as a report.Flow anyway (not LazyFlows): spooling
// would then only cost the encoding and the reading back.
type recStore struct {
	metas [][]recMeta
	free  []int32
	n     int32 // slots handed out, free ones included
	held  bool

	sp     *report.Spool // made on the first record spooled
	flushd int64         // bytes of the spool flushed for reading
	enc    []byte
	win    spoolWindow // for load, one record at a time
	err    error
}

const recChunk = 1024

func (s *recStore) alloc() int32 {
	if k := len(s.free); k > 0 {
		i := s.free[k-1]
		s.free = s.free[:k-1]
		return i
	}
	if int(s.n) == len(s.metas)*recChunk {
		s.metas = append(s.metas, make([]recMeta, recChunk))
	}
	s.n++
	return s.n - 1
}

func (s *recStore) meta(i int32) *recMeta { return &s.metas[i/recChunk][i%recChunk] }

// release lets a record go unless the report or inference still holds it.
// Spooled bytes are not reclaimed: only pending records (at most
// maxPending) and kept ones (at most MaxFlowRecords) are ever spooled.
func (s *recStore) release(i int32) {
	m := s.meta(i)
	if m.kept || m.pending {
		return
	}
	*m = recMeta{}
	s.free = append(s.free, i)
}

// spool writes fr's encoding for record i (or keeps a copy, when held).
func (s *recStore) spool(i int32, fr *flowRec) {
	m := s.meta(i)
	if m.n > 0 || m.mem != nil || s.err != nil {
		return
	}
	if s.held {
		c := *fr
		m.mem = &c
		return
	}
	if s.sp == nil {
		s.sp = report.NewSpool()
	}
	s.enc = fr.encode(s.enc[:0])
	m.off, m.n = s.sp.Len(), uint32(len(s.enc))
	if _, err := s.sp.Write(s.enc); err != nil {
		s.err = err
	}
}

// load decodes record i into fr, with its verdict.
func (s *recStore) load(i int32, fr *flowRec) error {
	s.sync()
	return s.loadInto(i, fr, &s.win)
}

// spoolWindow holds spooled bytes for loadInto: a window of the spool
// read at once for a batch of records, and a buffer for one record read
// alone.
type spoolWindow struct {
	lo  int64
	win []byte
	one []byte
}

// window reads the spool bytes of the records idx into w in one read when
// they lie close together (records are spooled as their flows end, and are
// mostly loaded in about that order): one system call instead of one per
// record. Scattered records are left to be read one by one.
func (s *recStore) window(idx []int32, w *spoolWindow) {
	w.win = w.win[:0]
	if s.sp == nil || s.err != nil {
		return
	}
	lo, hi, sum := int64(math.MaxInt64), int64(0), int64(0)
	for _, i := range idx {
		if m := s.meta(i); m.mem == nil && m.n > 0 {
			lo, hi, sum = min(lo, m.off), max(hi, m.off+int64(m.n)), sum+int64(m.n)
		}
	}
	if sum == 0 || hi-lo > 2*sum+4096 {
		return
	}
	w.win = slices.Grow(w.win, int(hi-lo))[:hi-lo]
	if _, err := s.sp.ReadAt(w.win, lo); err != nil {
		w.win = w.win[:0] // each record reads (and reports) on its own
		return
	}
	w.lo = lo
}

// sync writes what the spool buffers to its file, so that loadInto only
// reads the store (loadAhead runs it on several goroutines).
func (s *recStore) sync() {
	if s.sp != nil && s.err == nil && s.flushd < s.sp.Len() {
		if err := s.sp.Flush(); err != nil {
			s.err = err
			return
		}
		s.flushd = s.sp.Len()
	}
}

// loadInto reads record i into fr, from w's window when it holds the
// record. It only reads the store, once sync has run.
func (s *recStore) loadInto(i int32, fr *flowRec, w *spoolWindow) error {
	m := s.meta(i)
	switch {
	case m.mem != nil:
		*fr = *m.mem
	case s.err != nil: // first: a record whose write failed has no length
		return fmt.Errorf("flow records spool: %w", s.err)
	case m.n == 0:
		return errors.New("flow record was not kept")
	default:
		var b []byte
		if d := m.off - w.lo; d >= 0 && d+int64(m.n) <= int64(len(w.win)) {
			b = w.win[d : d+int64(m.n)]
		} else {
			w.one = slices.Grow(w.one[:0], int(m.n))[:m.n]
			if _, err := s.sp.ReadAt(w.one, m.off); err != nil {
				return fmt.Errorf("flow records spool: %w", err)
			}
			b = w.one
		}
		if err := fr.decode(b); err != nil {
			return err
		}
	}
	fr.clientRole, fr.serverRole, fr.rule = m.clientRole, m.serverRole, m.rule
	fr.app, fr.findings = "", nil
	if m.extra != nil {
		fr.app, fr.findings = m.extra.app, m.extra.findings
	}
	return nil
}

// keepVerdict keeps the verdict fr.verdict wrote, for record i.
func (s *recStore) keepVerdict(i int32, fr *flowRec) {
	m := s.meta(i)
	m.clientRole, m.serverRole, m.rule = fr.clientRole, fr.serverRole, fr.rule
	if fr.app != "" {
		m.more().app = fr.app
	}
	if len(fr.findings) > 0 {
		m.more().findings = fr.findings
	}
}

func (m *recMeta) more() *recExtra {
	if m.extra == nil {
		m.extra = &recExtra{}
	}
	return m.extra
}

func (s *recStore) close() {
	if s.sp != nil {
		s.sp.Close()
		s.sp = nil
	}
	if s.err == nil {
		s.err = errors.New("flow records read after their report was released")
	}
}

// records is the set of flow records a report keeps: all of them up to a
// bound, or only the busiest N.
type records struct {
	store   *recStore
	kept    []int32 // by arrival (all mode)
	max     int
	top     int
	heap    byBytes // kept records, least bytes first (top mode)
	count   uint64  // flows seen
	dropped uint64  // over max
}

// add keeps record i if it is wanted, letting go of the one it displaces.
// A record kept in busiest-flows mode is held in memory (there are few);
// otherwise it is spooled.
func (rs *records) add(i int32, fr *flowRec) {
	rs.count++
	m := rs.store.meta(i)
	if rs.top <= 0 {
		if len(rs.kept) >= rs.max {
			rs.dropped++
			return
		}
		m.kept = true
		rs.kept = append(rs.kept, i)
		rs.store.spool(i, fr)
		return
	}
	rs.heap.store = rs.store
	if rs.heap.Len() >= rs.top {
		least := rs.heap.idx[0]
		if rs.store.meta(least).bytes >= m.bytes {
			return
		}
		heap.Pop(&rs.heap)
		lm := rs.store.meta(least)
		lm.kept = false
		if !lm.pending || !rs.store.held {
			lm.mem = nil // a held pending record is its only copy
		}
		rs.store.release(least)
	}
	m.kept = true
	c := *fr
	m.mem = &c
	heap.Push(&rs.heap, i)
}

// order returns the kept records in report order: first packet time, then
// point and frame.
func (rs *records) order() []int32 {
	out := rs.kept
	if rs.top > 0 {
		out = slices.Clone(rs.heap.idx)
	}
	slices.SortFunc(out, func(a, b int32) int {
		x, y := rs.store.meta(a), rs.store.meta(b)
		if x.first != y.first {
			return cmp.Compare(x.first, y.first)
		}
		if x.point != y.point {
			return cmp.Compare(x.point, y.point)
		}
		return cmp.Compare(x.frame, y.frame)
	})
	return out
}

type byBytes struct {
	store *recStore
	idx   []int32
}

func (h byBytes) Len() int { return len(h.idx) }
func (h byBytes) Less(i, j int) bool {
	return h.store.meta(h.idx[i]).bytes < h.store.meta(h.idx[j]).bytes
}
func (h byBytes) Swap(i, j int) { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *byBytes) Push(x any)   { h.idx = append(h.idx, x.(int32)) }
func (h *byBytes) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

// recSource renders a finished run's kept records for its report. It holds
// the records and the point names, not the run: the flow table and the
// detectors are garbage once the run is done.
type recSource struct {
	store *recStore
	order []int32
	names map[int]string
}

func (s *recSource) Len() int { return len(s.order) }

// Close lets the spool file go; the records cannot be read after it.
func (s *recSource) Close() error {
	s.store.close()
	s.order = nil
	return nil
}

func (s *recSource) Each(fn func(*report.Flow) error) error {
	type rendered struct {
		fr  flowRec
		rec report.Flow
	}
	return loadAhead(s.store, s.order, func(i int32, out *rendered, w *spoolWindow) error {
		if err := s.store.loadInto(i, &out.fr, w); err != nil {
			return err
		}
		out.rec = out.fr.render(s.names[int(out.fr.point)])
		return nil
	}, func(_ int32, out *rendered, err error) error {
		if err != nil {
			return err
		}
		rec := out.rec // fn keeps what it is given; the slot is reused
		return fn(&rec)
	})
}

func (s *recSource) Refs(fn func(id, point string)) {
	for _, i := range s.order {
		m := s.store.meta(i)
		fn(flowID(int(m.point), m.frame), s.names[int(m.point)])
	}
}

// flowID is flows.Flow.ID for a flow no longer in the table.
func flowID(point int, frame uint64) string {
	f := flows.Flow{Point: point, FirstFrame: frame}
	return f.ID()
}

// parseFlowID reads back what flowID wrote.
func parseFlowID(id string) (flowRef, bool) {
	ps, fs, ok := strings.Cut(strings.TrimPrefix(id, "f"), "-")
	if !ok {
		return flowRef{}, false
	}
	p, err1 := strconv.Atoi(ps)
	f, err2 := strconv.ParseUint(fs, 10, 64)
	return flowRef{p, f}, err1 == nil && err2 == nil
}
