package audit

import (
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/flows/classify"
	"github.com/edgeaudit/edgeaudit/policy"
)

func sampleRecs() []flowRec {
	return []flowRec{
		{
			label: flows.Label{App: classify.TLS, Detail: "tls1.2", Why: "ClientHello \x1b[31m", TLS: true, ClientHello: true,
				ServerHello: true, HandshakeSeen: true, CertRequest: true, Mutual: true, SNI: "sip.example.com",
				Details: []flows.Detail{{Key: "sni", Value: "sip.example.com"}, {Key: "mutual_tls", Value: "true"}}},
			client:  flows.Endpoint{Addr: netip.MustParseAddr("192.0.2.10"), Port: 50123},
			server:  flows.Endpoint{Addr: netip.MustParseAddr("198.51.100.5"), Port: 5061},
			packets: [2]uint64{10, 12}, bytes: [2]uint64{1500, 9000}, payload: [2]uint64{700, 8000},
			first: 1_700_000_000_123_456_789, last: 1_700_000_001_000_000_000, frame: 1 << 40, point: 2049, proto: 6,
			hasMAC: true, clientMAC: [6]byte{1, 2, 3, 4, 5, 6}, serverMAC: [6]byte{6, 5, 4, 3, 2, 1}, end: "rst",
		},
		{
			label:  flows.Label{App: classify.STUN, PseudoTLS: true},
			client: flows.Endpoint{Addr: netip.MustParseAddr("2001:db8::1"), Port: 3478},
			server: flows.Endpoint{Addr: netip.MustParseAddr("::ffff:203.0.113.9"), Port: 443},
			proto:  17, orphanSYNACK: true, end: "end-of-input",
		},
		{end: "idle"},
	}
}

// TestRecordSpoolRoundTrip: what the spool holds decodes to the same
// record, and a cut encoding is an error, never a panic.
func TestRecordSpoolRoundTrip(t *testing.T) {
	for i, fr := range sampleRecs() {
		b := fr.encode(nil)
		var got flowRec
		if err := got.decode(b); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, fr) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got, fr)
		}
		for n := 0; n < len(b); n++ {
			if err := got.decode(b[:n]); err == nil {
				t.Errorf("record %d cut to %d of %d bytes decoded without error", i, n, len(b))
			}
		}
		if err := got.decode(append(b, 0)); err == nil {
			t.Errorf("record %d with a trailing byte decoded without error", i)
		}
	}
}

// TestRecordStore: records go through the spool and come back with their
// verdicts; slots let go are reused; the busiest are held in memory.
func TestRecordStore(t *testing.T) {
	s := &recStore{}
	rs := records{store: s, max: 2}
	recs := sampleRecs()
	var idx []int32
	for k := range recs {
		i := s.alloc()
		m := s.meta(i)
		m.first, m.frame, m.point, m.bytes = recs[k].first, recs[k].frame, recs[k].point, recs[k].total()
		rs.add(i, &recs[k])
		fr := recs[k]
		fr.verdict(&policy.Verdict{Rule: "EXT-S-01", ClientRole: policy.RoleAny, App: "sip"}, "F7")
		s.keepVerdict(i, &fr)
		idx = append(idx, i)
		s.release(i)
	}
	if live := int(s.n) - len(s.free); rs.dropped != 1 || len(rs.kept) != 2 || live != 2 {
		t.Fatalf("kept %d, dropped %d, live %d; want 2, 1, 2", len(rs.kept), rs.dropped, live)
	}
	if j := s.alloc(); j != idx[2] {
		t.Errorf("slot %d let go, %d handed out", idx[2], j)
	}
	for k, i := range idx[:2] {
		var got flowRec
		if err := s.load(i, &got); err != nil {
			t.Fatal(err)
		}
		want := recs[k]
		want.rule, want.clientRole, want.app, want.findings = "EXT-S-01", policy.RoleAny, "sip", []string{"F7"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d:\n got %+v\nwant %+v", k, got, want)
		}
	}

	src := &recSource{store: s, order: rs.order(), names: map[int]string{}}
	if src.Len() != 2 {
		t.Errorf("source has %d records, want 2", src.Len())
	}
	src.Close()
	var after flowRec
	if err := s.load(idx[0], &after); err == nil || s.sp != nil || src.Len() != 0 {
		t.Errorf("after Close: load error %v, spool kept %v, %d records", err, s.sp != nil, src.Len())
	}

	top := records{store: &recStore{}, top: 1}
	for k := range recs {
		i := top.store.alloc()
		top.store.meta(i).bytes = recs[k].total()
		top.add(i, &recs[k])
		top.store.release(i)
	}
	if o := top.order(); len(o) != 1 || top.store.meta(o[0]).mem == nil || top.store.meta(o[0]).bytes != 10500 || top.store.sp != nil {
		t.Errorf("busiest: %v (held in memory, no spool file expected)", o)
	}
}

// TestTuneGC: the soft memory limit starts at the floor for the runs, is
// raised to 1.5 times a live heap that outgrows it, and is restored after.
func TestTuneGC(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: TuneGC leaves the collector alone")
	}
	before := debug.SetMemoryLimit(-1)
	restore := TuneGC(1)
	if got := debug.SetMemoryLimit(-1); got != 44<<20 {
		t.Errorf("limit %d MiB, want 44", got>>20)
	}
	live := make([]byte, 96<<20)
	for i := range live {
		live[i] = byte(i)
	}
	runtime.GC()
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) < 3*96<<19 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got < 3*96<<19 {
		t.Errorf("with 96 MiB live the limit is %d MiB, want at least 144", got>>20)
	}
	runtime.KeepAlive(live)
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit %d after restore, want %d", got, before)
	}
}

// TestRecordStoreInMemory: without a temporary directory the records stay
// in memory and come back the same.
func TestRecordStoreInMemory(t *testing.T) {
	t.Setenv("TMPDIR", "/nonexistent/edgeaudit-test")
	s := &recStore{}
	recs := sampleRecs()
	for k := range recs {
		i := s.alloc()
		s.meta(i).kept = true
		s.spool(i, &recs[k])
		var got flowRec
		if err := s.load(i, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, recs[k]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", k, got, recs[k])
		}
	}
	if s.sp == nil || s.sp.InFile() || s.sp.Len() == 0 {
		t.Errorf("records went to a file or nowhere (%+v)", s.sp)
	}
}
