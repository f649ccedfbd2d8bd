package audit

import (
	"errors"
	"runtime"
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
