package flows

// stream collects the start of one TCP direction in sequence order: enough
// for classification and for the handshake-time STUN transactions, bounded
// by limit. Retransmissions and overlaps are trimmed; out-of-order segments
// wait (copied, bounded) until the gap before them fills.
type stream struct {
	buf       []byte // in-order bytes not yet consumed
	consumed  int    // bytes dropped from the front of buf after scanning
	next      uint32 // next expected sequence number
	started   bool
	full      bool // limit reached: no more bytes are collected
	pending   []segment
	pendBytes int
}

type segment struct {
	seq  uint32
	data []byte
}

const maxPendingSegments = 16

// delivered is how many in-order bytes this direction has produced so far.
func (s *stream) delivered() int { return s.consumed + len(s.buf) }

// syn records the initial sequence number; data starts at isn+1.
func (s *stream) syn(isn uint32) {
	if !s.started {
		s.next = isn + 1
		s.started = true
	}
}

// add offers a segment and returns the number of in-order bytes appended
// and the number of bytes that could not be kept because a bound was hit.
func (s *stream) add(seq uint32, data []byte, limit int, budget *int) (added, dropped int) {
	if len(data) == 0 || s.full {
		return 0, 0
	}
	if !s.started {
		// Picked up mid-stream: the first segment seen defines the start.
		s.next = seq
		s.started = true
	}
	diff := int32(seq - s.next)
	switch {
	case diff > 0:
		return 0, s.hold(seq, data, limit, budget)
	case -int(diff) >= len(data):
		return 0, 0 // pure retransmission
	default:
		data = data[-diff:]
	}
	added = s.appendInOrder(data, limit, budget)
	for !s.full && len(s.pending) > 0 {
		progressed := false
		for i := 0; i < len(s.pending); i++ {
			sg := s.pending[i]
			d := int32(sg.seq - s.next)
			if d > 0 {
				continue
			}
			s.removePending(i, budget)
			i--
			if -int(d) < len(sg.data) {
				added += s.appendInOrder(sg.data[-d:], limit, budget)
			}
			progressed = true
		}
		if !progressed {
			break
		}
	}
	return added, dropped
}

func (s *stream) appendInOrder(data []byte, limit int, budget *int) int {
	room := limit - s.delivered()
	if room > *budget {
		room = *budget
	}
	n := len(data)
	if n > room {
		n = room
	}
	if n < 0 {
		n = 0
	}
	s.buf = append(s.buf, data[:n]...)
	*budget -= n
	s.next += uint32(len(data))
	if n < len(data) || s.delivered() >= limit {
		s.full = true
		s.dropPending(budget)
	}
	return n
}

func (s *stream) hold(seq uint32, data []byte, limit int, budget *int) int {
	if len(s.pending) >= maxPendingSegments || s.pendBytes+len(data) > limit || len(data) > *budget {
		return len(data)
	}
	cp := make([]byte, len(data))
	copy(cp, data)
	s.pending = append(s.pending, segment{seq: seq, data: cp})
	s.pendBytes += len(cp)
	*budget -= len(cp)
	return 0
}

func (s *stream) removePending(i int, budget *int) {
	s.pendBytes -= len(s.pending[i].data)
	*budget += len(s.pending[i].data)
	s.pending = append(s.pending[:i], s.pending[i+1:]...)
}

func (s *stream) dropPending(budget *int) {
	*budget += s.pendBytes
	s.pending, s.pendBytes = nil, 0
}

// consume forgets the first n buffered bytes once they have been scanned.
func (s *stream) consume(n int, budget *int) {
	if n <= 0 {
		return
	}
	if n > len(s.buf) {
		n = len(s.buf)
	}
	rest := copy(s.buf, s.buf[n:])
	s.buf = s.buf[:rest]
	s.consumed += n
	*budget += n
}

// release frees the buffers and stops collection, returning their bytes to
// the budget.
func (s *stream) release(budget *int) {
	*budget += len(s.buf)
	s.consumed += len(s.buf)
	s.buf = nil
	s.dropPending(budget)
	s.full = true
}
