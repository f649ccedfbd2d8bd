package classify

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestWorkloadCost measures the time spent in Classify per packet on a
// capture from ../shared/bench/gen (set CLASSIFY_WORKLOAD=path), and prints
// the label mix. It is a measurement, skipped by default.
func BenchmarkWorkloadCost(b *testing.B) {
	t := b // a measurement of one pass: run with -benchtime 1x
	path := os.Getenv("CLASSIFY_WORKLOAD")
	if path == "" {
		t.Skip("set CLASSIFY_WORKLOAD to a bench/gen capture to measure")
	}
	pkts := readCapture(t, path)
	classifyTime = 0
	start := time.Now()
	flows := buildFlows(pkts)
	total := time.Since(start)
	inc := classifyTime
	// Re-run only the Classify calls to separate their cost from the test's flow table.
	var calls int
	var r Result
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	start = time.Now()
	reps := 1
	if os.Getenv("CLASSIFY_REPS") != "" {
		reps, _ = strconv.Atoi(os.Getenv("CLASSIFY_REPS"))
	}
	for range reps {
		for _, f := range flows {
			for i := 0; i < max(f.calls, 1); i++ {
				Classify(&f.in, &r)
				calls++
			}
		}
	}
	cls := time.Since(start)
	cpu := threadCPU() - cpu0
	mix := map[string]int{}
	for _, f := range flows {
		k := f.res.App.String() + "/" + f.res.Detail
		if f.res.App == Unknown && os.Getenv("CLASSIFY_PORTS") != "" {
			k += " " + transportName(&f.in) + " port " + strconv.Itoa(int(f.in.ServerPort))
		}
		mix[k]++
	}
	var keys []string
	for k := range mix {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-28s %d", k, mix[k])
	}
	t.Logf("%d packets, %d flows, %d Classify calls; test flow table+classify %v", len(pkts), len(flows), calls, total)
	t.Logf("incremental (as the flow table calls it): %v = %.1f ns/packet, %.0f ns/call", inc,
		float64(inc.Nanoseconds())/float64(len(pkts)), float64(inc.Nanoseconds())/float64(calls))
	t.Logf("re-run on final buffers x%d: wall %v, thread CPU %v = %.1f ns/packet, %.0f ns/call", reps, cls, cpu,
		float64(cpu.Nanoseconds())/float64(reps*len(pkts)), float64(cpu.Nanoseconds())/float64(calls))
}

func transportName(in *Input) string {
	if in.Transport == 6 {
		return "tcp"
	}
	return "udp"
}

// threadCPU is this OS thread's CPU time (Linux RUSAGE_THREAD), immune to
// other processes' load on a shared machine.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
