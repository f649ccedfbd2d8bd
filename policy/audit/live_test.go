package audit

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// chanSource is a fake live interface: frames come from a channel, Next
// blocks while it is empty, Close unblocks it.
type chanSource struct {
	ch      chan []byte
	closed  chan struct{}
	once    sync.Once
	frame   uint64
	drops   uint64
	mu      sync.Mutex
	timeOff int64
}

func newChanSource() *chanSource {
	return &chanSource{ch: make(chan []byte, 1024), closed: make(chan struct{})}
}

func (c *chanSource) fill(p *decode.Packet, b []byte) {
	c.frame++
	p.Frame, p.Time, p.WireLen, p.LinkType, p.Data = c.frame, time.Now().UnixNano(), len(b), decode.LinkTypeEthernet, b
}

func (c *chanSource) Next(p *decode.Packet) error {
	select {
	case b := <-c.ch:
		c.fill(p, b)
		return nil
	case <-c.closed:
		return io.EOF
	}
}

func (c *chanSource) TryNext(p *decode.Packet) (bool, error) {
	select {
	case b := <-c.ch:
		c.fill(p, b)
		return true, nil
	case <-c.closed:
		return false, io.EOF
	default:
		return false, nil
	}
}

func (c *chanSource) Stats() (decode.LiveStats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return decode.LiveStats{Received: c.frame + c.drops, Dropped: c.drops}, nil
}

func (c *chanSource) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

type liveSink struct {
	mu       sync.Mutex
	flows    []report.Flow
	snaps    map[string]int
	findings map[string]report.Finding
}

func (s *liveSink) Flow(f *report.Flow) {
	s.mu.Lock()
	s.flows = append(s.flows, *f)
	s.mu.Unlock()
}
func (s *liveSink) FlowSnapshot(f *report.Flow, state string) {
	s.mu.Lock()
	s.snaps[state]++
	s.mu.Unlock()
}
func (s *liveSink) Finding(f *report.Finding) {
	s.mu.Lock()
	s.findings[f.ID] = *f
	s.mu.Unlock()
}
func (s *liveSink) Progress(Progress) {}

func (s *liveSink) nflows() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.flows)
}

// udpFrame builds an Ethernet/IPv4/UDP frame.
func udpFrame(src, dst [4]byte, sp, dp uint16, payload string) []byte {
	b := make([]byte, 14+20+8+len(payload))
	b[12], b[13] = 0x08, 0x00
	ip := b[14:]
	ip[0] = 0x45
	tot := 20 + 8 + len(payload)
	ip[2], ip[3] = byte(tot>>8), byte(tot)
	ip[8], ip[9] = 64, 17
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	u := ip[20:]
	u[0], u[1], u[2], u[3] = byte(sp>>8), byte(sp), byte(dp>>8), byte(dp)
	ul := 8 + len(payload)
	u[4], u[5] = byte(ul>>8), byte(ul)
	copy(u[8:], payload)
	return b
}

// A quiet interface must not hold back a busy one; flows expire on the
// clock when traffic stops; drops become an input finding; cancel stops.
func TestRunLiveQuietInterfaceClockAndDrops(t *testing.T) {
	busy, quiet := newChanSource(), newChanSource()
	sink := &liveSink{snaps: map[string]int{}, findings: map[string]report.Finding{}}
	o := Options{Sink: sink, Flows: flows.Config{UDPTimeout: 300 * time.Millisecond}}
	inputs := []*Input{{Src: busy, Path: "busy0", Name: "busy0"}, {Src: quiet, Path: "quiet0", Name: "quiet0"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		rep *report.Report
		err error
	}
	done := make(chan result, 1)
	var statuses int
	go func() {
		rep, err := RunLive(ctx, inputs, nil, o, LiveOptions{Tick: 50 * time.Millisecond, FlowInterval: 100 * time.Millisecond,
			Status: func(LiveStatus) { statuses++ }})
		done <- result{rep, err}
	}()
	for i := range 20 {
		busy.ch <- udpFrame([4]byte{192, 0, 2, 1}, [4]byte{198, 51, 100, 13}, 50000, 3478, "ping")
		busy.ch <- udpFrame([4]byte{198, 51, 100, 13}, [4]byte{192, 0, 2, 1}, 3478, 50000, "pong")
		_ = i
	}
	// The quiet interface sends nothing; the busy one's flow must still
	// be processed, and end by the clock about 300 ms after its last frame.
	deadline := time.Now().Add(5 * time.Second)
	ended := func() int {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.snaps["ended"] // no topology: judged at the end, streamed as "ended" now
	}
	for ended() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if ended() != 1 {
		t.Fatalf("%d flows ended by the live clock, want 1", ended())
	}
	sink.mu.Lock()
	opens := sink.snaps["open"]
	sink.mu.Unlock()
	if opens == 0 {
		t.Error("no snapshot of the open flow")
	}
	busy.mu.Lock()
	busy.drops = 7
	busy.mu.Unlock()
	time.Sleep(150 * time.Millisecond)
	start := time.Now()
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Second):
		t.Fatal("RunLive did not return within a second of cancel")
	}
	t.Logf("stopped in %v", time.Since(start))
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.rep.Flows) != 1 || r.rep.Flows[0].End == "end-of-input" || r.rep.Flows[0].Packets.C2S != 20 ||
		r.rep.Flows[0].Packets.S2C != 20 || r.rep.Flows[0].Point != "busy0" || sink.nflows() != 1 {
		t.Errorf("flows %+v", r.rep.Flows)
	}
	if len(r.rep.Inputs) != 2 || r.rep.Inputs[0].Packets != 40 || r.rep.Inputs[1].Packets != 0 || r.rep.Inputs[0].Format != "live" {
		t.Errorf("inputs %+v", r.rep.Inputs)
	}
	found := false
	for _, f := range r.rep.Findings {
		if f.Kind == "input" && f.Count == 7 {
			found = true
		}
	}
	if !found {
		t.Errorf("no input finding for 7 kernel drops: %+v", r.rep.Findings)
	}
	if statuses == 0 {
		t.Error("Status never called")
	}
}

func TestRunLiveCount(t *testing.T) {
	src := newChanSource()
	for range 100 {
		src.ch <- udpFrame([4]byte{192, 0, 2, 1}, [4]byte{198, 51, 100, 13}, 50000, 3478, "x")
	}
	rep, err := RunLive(context.Background(), []*Input{{Src: src, Path: "if0", Name: "if0"}}, nil, Options{}, LiveOptions{Count: 30})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inputs[0].Packets != 30 {
		t.Errorf("%d packets, want 30", rep.Inputs[0].Packets)
	}
}
