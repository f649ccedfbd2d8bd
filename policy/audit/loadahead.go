package audit

import (
	"runtime"
	"sync"
)

// Load-ahead geometry: records go to the loading goroutines in batches,
// so that handing them over costs little beside reading and decoding them.
const (
	loadBatch    = 128
	loadInFlight = 6
)

type loadedBatch[T any] struct {
	idx  []int32
	out  [loadBatch]T
	errs [loadBatch]error
	done chan struct{}
}

// loadAhead calls fn for the records of order, in order, each prepared by
// load (read from the spool, decoded, perhaps rendered). With more than one
// core, load runs ahead on other goroutines: at the end of a run the other
// core would otherwise be idle while the records are judged and the report
// is written. load must only read the store (s.sync first makes that so),
// through w, which holds the spooled bytes of the batch the record is in.
// An error from load is handed to fn with the record; an error from fn
// stops the walk.
func loadAhead[T any](s *recStore, order []int32, load func(i int32, out *T, w *spoolWindow) error,
	fn func(i int32, out *T, err error) error) error {
	s.sync()
	workers := min(runtime.GOMAXPROCS(0), 4)
	if workers < 2 || len(order) <= loadBatch {
		var out T
		var w spoolWindow
		for start := 0; start < len(order); start += loadBatch {
			idx := order[start:min(start+loadBatch, len(order))]
			s.window(idx, &w)
			for _, i := range idx {
				if err := fn(i, &out, load(i, &out, &w)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	work := make(chan *loadedBatch[T], loadInFlight)
	ready := make(chan *loadedBatch[T], loadInFlight)
	free := make(chan *loadedBatch[T], loadInFlight)
	for range loadInFlight {
		free <- new(loadedBatch[T])
	}
	quit := make(chan struct{})
	go func() {
		// Never blocks on work or ready: at most loadInFlight batches exist.
		defer close(ready)
		defer close(work)
		for start := 0; start < len(order); start += loadBatch {
			var b *loadedBatch[T]
			select {
			case <-quit: // before a free batch: load nothing more
				return
			default:
			}
			select {
			case b = <-free:
			case <-quit:
				return
			}
			b.idx = order[start:min(start+loadBatch, len(order))]
			b.done = make(chan struct{})
			work <- b
			ready <- b
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var w spoolWindow
			for b := range work {
				s.window(b.idx, &w)
				for j, i := range b.idx {
					b.errs[j] = load(i, &b.out[j], &w)
				}
				close(b.done)
			}
		})
	}
	var err error
	for b := range ready {
		<-b.done
		for j := 0; err == nil && j < len(b.idx); j++ {
			if err = fn(b.idx[j], &b.out[j], b.errs[j]); err != nil {
				close(quit)
			}
		}
		free <- b
	}
	wg.Wait()
	return err
}
