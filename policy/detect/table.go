package detect

// ring is a bounded table of entries keyed by K, kept in insertion order
// so that expiry on packet time and eviction at the bound both take the
// oldest entry. Its storage grows by doubling up to the bound, so memory
// follows use; once grown, inserts do not allocate.
type ring[K comparable, V any] struct {
	slots []ringSlot[K, V]
	index map[K]int32
	head  int // oldest live slot
	n     int
	peak  int
	max   int
}

// ringSlot puts t0 first so that a small key packs with live instead of
// being padded to eight bytes.
type ringSlot[K comparable, V any] struct {
	t0   int64 // first sighting: expiry is measured from it
	key  K
	live bool
	v    V
}

func (r *ring[K, V]) init(capacity int) {
	r.max = capacity
	n := min(capacity, 256)
	r.slots = make([]ringSlot[K, V], n)
	r.index = make(map[K]int32, n)
}

// grow doubles the storage (up to max), moving the live entries to the
// front in order.
func (r *ring[K, V]) grow() {
	n := min(2*len(r.slots), r.max)
	slots := make([]ringSlot[K, V], n)
	for j := 0; j < r.n; j++ {
		i := r.head + j
		if i >= len(r.slots) {
			i -= len(r.slots)
		}
		slots[j] = r.slots[i]
		if slots[j].live {
			r.index[slots[j].key] = int32(j)
		}
	}
	r.slots, r.head = slots, 0
}

// get returns the entry for k, or nil.
func (r *ring[K, V]) get(k K) *V {
	i, ok := r.index[k]
	if !ok {
		return nil
	}
	return &r.slots[i].v
}

// expire drops entries first seen before cutoff, oldest first, calling
// drop for each (expired true).
func (r *ring[K, V]) expire(cutoff int64, drop func(*V, bool)) {
	for r.n > 0 {
		s := &r.slots[r.head]
		if s.live && s.t0 >= cutoff {
			return
		}
		r.pop(drop, true)
	}
}

func (r *ring[K, V]) pop(drop func(*V, bool), expired bool) {
	s := &r.slots[r.head]
	if s.live {
		if drop != nil {
			drop(&s.v, expired)
		}
		delete(r.index, s.key)
		var zero V
		s.v, s.live = zero, false
	}
	r.head++
	if r.head == len(r.slots) {
		r.head = 0
	}
	r.n--
}

// insert adds a zeroed entry for k (which must not be present) first seen
// at t; at the bound the oldest entry is dropped first (expired false).
func (r *ring[K, V]) insert(k K, t int64, drop func(*V, bool)) (v *V, evicted bool) {
	if r.n == len(r.slots) && len(r.slots) < r.max {
		r.grow()
	}
	if r.n == len(r.slots) {
		r.pop(drop, false)
		evicted = true
	}
	i := r.head + r.n
	if i >= len(r.slots) {
		i -= len(r.slots)
	}
	s := &r.slots[i]
	s.key, s.t0, s.live = k, t, true
	r.index[k] = int32(i)
	r.n++
	if r.n > r.peak {
		r.peak = r.n
	}
	return &s.v, evicted
}

// each calls fn for every live entry, oldest first.
func (r *ring[K, V]) each(fn func(*V)) {
	for j := 0; j < r.n; j++ {
		i := r.head + j
		if i >= len(r.slots) {
			i -= len(r.slots)
		}
		if r.slots[i].live {
			fn(&r.slots[i].v)
		}
	}
}

// slab holds records out of line for the entries of a ring, which keep
// int32 indices into it: an entry then costs memory for the records it
// uses, not for as many as it may hold. Released records are reused
// before the slab grows, so once it has grown put does not allocate.
type slab[T any] struct {
	items []T
	free  []int32
	max   int
}

// init bounds the slab at n records, what its ring's entries can hold
// at most, so that its growth stops where the ring's does.
func (s *slab[T]) init(n int) { s.max = n }

// put stores v and returns its index.
func (s *slab[T]) put(v T) int32 {
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		s.items[i] = v
		return i
	}
	if len(s.items) == cap(s.items) {
		s.grow()
	}
	s.items = append(s.items, v)
	return int32(len(s.items) - 1)
}

// grow adds room by a quarter, as append grows a large slice, but not
// past max.
func (s *slab[T]) grow() {
	n := min(max(cap(s.items)*5/4, 256), s.max)
	items := make([]T, len(s.items), max(n, len(s.items)+1))
	copy(items, s.items)
	s.items = items
}

// at returns the record at i; the pointer is good until the next put.
func (s *slab[T]) at(i int32) *T { return &s.items[i] }

func (s *slab[T]) release(i int32) { s.free = append(s.free, i) }
