package audit_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/edgeaudit/edgeaudit/policy/audit"
)

// batchBenchSet returns 8 directories, each holding a copy of the
// generated big capture (BATCHN packets, default 200000), so that they
// are 8 independent groups. It is generated once into the user's cache
// (EDGEAUDIT_BENCH_DIR overrides).
func batchBenchSet(b *testing.B) []audit.BatchFile {
	b.Helper()
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("BATCHN")); err == nil && v > 0 {
		n = v
	}
	cache := os.Getenv("EDGEAUDIT_BENCH_DIR")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			d = os.TempDir()
		}
		cache = filepath.Join(d, "edgeaudit-bench")
	}
	src := filepath.Join(cache, fmt.Sprintf("batch-%d", n), "big.pcap")
	if _, err := os.Stat(src); err != nil {
		if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command("go", "run", "./samples/gen", "-only", "big", "-n", strconv.Itoa(n), "-o", filepath.Dir(src))
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Skipf("cannot generate the benchmark capture: %v\n%s", err, out)
		}
	}
	if _, err := os.Stat(src); err != nil {
		b.Skipf("generator wrote no %s", src)
	}
	var files []audit.BatchFile
	for i := 0; i < 8; i++ {
		dir := filepath.Join(filepath.Dir(src), "set", strconv.Itoa(i))
		dst := filepath.Join(dir, "big.pcap")
		if _, err := os.Stat(dst); err != nil {
			os.MkdirAll(dir, 0o755)
			if err := os.Link(src, dst); err != nil {
				copyFile(b, src, dst)
			}
		}
		files = append(files, audit.BatchFile{Path: dst, Key: dir, Explicit: true})
	}
	return files
}

// BenchmarkBatchJobs audits 8 independent files with one and with two
// jobs (and one job on one core); the ratios are the parallel speed-ups
// (README, Performance). make bench-batch runs it. The cpus metric says
// how many cores the run kept busy: compare only runs where nothing else
// was competing for the machine.
func BenchmarkBatchJobs(b *testing.B) {
	files := batchBenchSet(b)
	var size int64
	for _, f := range files {
		st, _ := os.Stat(f.Path)
		size += st.Size()
	}
	// jobs=1 already keeps about 1.5 cores busy (audit.Run reads and
	// decodes on one goroutine, analyses on another); jobs=1/procs=1 is
	// the one-core baseline for the scaling over cores.
	for _, c := range []struct{ jobs, procs int }{{1, 0}, {2, 0}, {1, 1}} {
		jobs := c.jobs
		name := "jobs=" + strconv.Itoa(jobs)
		if c.procs > 0 {
			name += "/procs=" + strconv.Itoa(c.procs)
		}
		b.Run(name, func(b *testing.B) {
			if c.procs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.procs))
			}
			// As edgeaudit audit runs it.
			defer audit.TuneGC(jobs)()
			b.SetBytes(size)
			var packets uint64
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				bt, err := audit.PlanBatch(context.Background(), files, audit.BatchOptions{Jobs: jobs})
				if err != nil {
					b.Fatal(err)
				}
				if len(bt.Groups) != len(files) {
					b.Fatalf("%d groups, want %d", len(bt.Groups), len(files))
				}
				err = bt.Run(context.Background(), func(res *audit.GroupResult) error {
					packets += res.Report.Summary.Packets
					return res.Err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds()/1e6, "Mpkt/s")
			// CPUs kept busy: near jobs when nothing else competes for
			// the machine; lower means the wall time is not comparable.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/b.Elapsed().Seconds(), "cpus")
		})
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
