package flows

import (
	"bytes"
	"testing"
)

func TestStreamOrdering(t *testing.T) {
	type seg struct {
		seq  uint32
		data string
	}
	cases := []struct {
		name  string
		isn   uint32
		syn   bool
		segs  []seg
		limit int
		want  string
	}{
		{"in order", 100, true, []seg{{101, "hello "}, {107, "world"}}, 100, "hello world"},
		{"out of order", 100, true, []seg{{107, "world"}, {101, "hello "}}, 100, "hello world"},
		{"retransmission", 100, true, []seg{{101, "hello "}, {101, "hello "}, {107, "world"}}, 100, "hello world"},
		{"overlap", 100, true, []seg{{101, "hello w"}, {106, " world"}}, 100, "hello world"},
		{"no syn: starts at first segment", 0, false, []seg{{5000, "abc"}, {5003, "def"}}, 100, "abcdef"},
		{"sequence wraps", 0xfffffffd, true, []seg{{0xfffffffe, "ab"}, {0, "cd"}}, 100, "abcd"},
		{"limit", 1, true, []seg{{2, "abcdef"}, {8, "ghij"}}, 8, "abcdefgh"},
		{"gap never filled", 1, true, []seg{{2, "ab"}, {10, "zz"}}, 100, "ab"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s stream
			budget := 1 << 20
			if c.syn {
				s.syn(c.isn)
			}
			for _, g := range c.segs {
				s.add(g.seq, []byte(g.data), c.limit, &budget)
			}
			if !bytes.Equal(s.buf, []byte(c.want)) {
				t.Fatalf("got %q, want %q", s.buf, c.want)
			}
			s.release(&budget)
			if budget != 1<<20 {
				t.Fatalf("budget not returned: %d", budget)
			}
		})
	}
}

func TestStreamBudget(t *testing.T) {
	var s stream
	budget := 4
	s.syn(0)
	s.add(1, []byte("abcdef"), 100, &budget)
	if string(s.buf) != "abcd" || !s.full || budget != 0 {
		t.Fatalf("buf %q full %v budget %d", s.buf, s.full, budget)
	}
	// An out-of-order segment that does not fit the budget is dropped.
	var s2 stream
	b2 := 2
	s2.syn(0)
	if _, dropped := s2.add(10, []byte("xyz"), 100, &b2); dropped != 3 {
		t.Fatalf("dropped %d, want 3", dropped)
	}
}
