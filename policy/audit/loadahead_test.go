package audit

import (
	"errors"
	"runtime"
	"slices"
	"testing"
)

// TestLoadAhead walks spooled records on loading goroutines and checks
// that they arrive in order, each with its own load error, and that an
// error from the caller stops the walk, on one core and on several.
func TestLoadAhead(t *testing.T) {
	for _, procs := range []int{1, 4} {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		s := &recStore{}
		base := sampleRecs()[0]
		const n = 5*loadBatch + 17
		var order []int32
		for k := range n {
			i := s.alloc()
			fr := base
			fr.frame = uint64(k + 1)
			if k%97 != 5 { // some records were never spooled: a load error
				s.spool(i, &fr)
			}
			order = append(order, i)
		}
		// Walk backwards: the order is the caller's, not the spool's.
		for l, r := 0, len(order)-1; l < r; l, r = l+1, r-1 {
			order[l], order[r] = order[r], order[l]
		}
		var seen, failed int
		err := loadAhead(s, order, s.loadInto, func(i int32, fr *flowRec, err error) error {
			k := n - 1 - seen
			if i != order[seen] {
				t.Fatalf("procs %d: record %d delivered at %d", procs, i, seen)
			}
			seen++
			if k%97 == 5 {
				if err == nil {
					t.Fatalf("procs %d: unspooled record %d loaded", procs, k)
				}
				failed++
				return nil
			}
			if err != nil || fr.frame != uint64(k+1) {
				t.Fatalf("procs %d: record %d: frame %d, %v", procs, k, fr.frame, err)
			}
			return nil
		})
		if err != nil || seen != n || failed != (n+91)/97 {
			t.Fatalf("procs %d: %d seen, %d failed, %v", procs, seen, failed, err)
		}

		stop := errors.New("stop")
		seen = 0
		err = loadAhead(s, order, s.loadInto, func(i int32, fr *flowRec, err error) error {
			if seen++; seen == 2*loadBatch+3 {
				return stop
			}
			return nil
		})
		if err != stop || seen != 2*loadBatch+3 {
			t.Fatalf("procs %d: stopped after %d with %v", procs, seen, err)
		}
		s.close()
	}
}

// TestSpoolWindow checks that records spooled close together are read in
// one window and scattered ones alone, and that both load the same.
func TestSpoolWindow(t *testing.T) {
	s := &recStore{}
	defer s.close()
	base := sampleRecs()[0]
	var all []int32
	for k := range 3 * loadBatch {
		i := s.alloc()
		fr := base
		fr.frame = uint64(k + 1)
		s.spool(i, &fr)
		all = append(all, i)
	}
	s.sync()
	var every3 []int32
	for k := 0; k < len(all); k += 3 {
		every3 = append(every3, all[k])
	}
	for _, c := range []struct {
		name   string
		idx    []int32
		window bool
	}{
		{"adjacent", all[loadBatch : 2*loadBatch], true},
		{"scattered", every3, false},
	} {
		var w spoolWindow
		s.window(c.idx, &w)
		var sum int
		for _, i := range c.idx {
			sum += int(s.meta(i).n)
		}
		if got := len(w.win) == sum; got != c.window {
			t.Errorf("%s: window of %d bytes for %d bytes of records", c.name, len(w.win), sum)
		}
		for _, i := range c.idx {
			var fr flowRec
			if err := s.loadInto(i, &fr, &w); err != nil {
				t.Fatalf("%s: record %d: %v", c.name, i, err)
			}
			if want := uint64(slices.Index(all, i) + 1); fr.frame != want {
				t.Fatalf("%s: record %d has frame %d, want %d", c.name, i, fr.frame, want)
			}
		}
	}
}
