package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

var update = flag.Bool("update", false, "rewrite the golden View snapshots in testdata/")

// Volatile fields: rates, elapsed time and time left depend on the clock
// when they come from a real run; the snapshots mask them so a golden
// file changes only when the layout or the words do.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9][0-9.,]*[kMGTPE]? pkt/s`), "<rate> pkt/s"},
	{regexp.MustCompile(`[0-9][0-9.hmsµ]* left`), "<eta> left"},
	{regexp.MustCompile(`in [0-9][0-9.hmsµ]* ·`), "in <elapsed> ·"},
}

func mask(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// golden compares a View with testdata/name.golden (or rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	got = mask(got)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui/ -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./tui/ -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// checkFrame asserts the view fills the terminal exactly: h lines, none
// wider than w. A line too many scrolls an alternate screen.
func checkFrame(t *testing.T, name, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("%s: %d lines, want %d", name, len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("%s: line %d is %d cells wide, max %d: %q", name, i+1, n, w, l)
		}
	}
}

// screens drives the model to each screen in turn; each step's name is
// the golden file's.
var screens = []struct {
	name string
	keys []string
	done bool // the final report has arrived
}{
	{"overview-loading", []string{"1"}, false},
	{"findings", []string{"2"}, false},
	{"finding-detail", []string{"2", "enter"}, false},
	{"flows", []string{"3"}, false},
	{"flows-sorted", []string{"3", "o", "o", "o", "o", "o", "o", "o", "o"}, false},
	{"flow-detail", []string{"3", "down", "enter"}, false},
	{"help", []string{"?"}, false},
	{"filtered", []string{"2", "s", "/", "h", "l", "b", "enter"}, false},
	{"filter-typing", []string{"3", "/", "5", "0", "6"}, false},
	{"overview-done", []string{"1"}, true},
	{"findings-done", []string{"2"}, true},
}

func TestGoldenScreens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, sc := range screens {
			name := fmt.Sprintf("%s-%dx%d", sc.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				m := newTestModel(size[0], size[1])
				send(m, streamed())
				if sc.done {
					send(m, doneMsg{Report: fixtureReport()})
				}
				for _, k := range sc.keys {
					send(m, press(k))
				}
				v := m.View().Content
				checkFrame(t, name, v, size[0], size[1])
				golden(t, name, v)
			})
		}
	}
}

// Every screen must fit odd sizes too, down to 60×16, and survive a
// resize in the middle of use.
func TestLayoutFitsAnySize(t *testing.T) {
	for _, size := range [][2]int{{60, 16}, {80, 24}, {100, 30}, {132, 43}, {200, 60}} {
		for _, sc := range screens {
			m := newTestModel(120, 40)
			send(m, streamed())
			if sc.done {
				send(m, doneMsg{Report: fixtureReport()})
			}
			for _, k := range sc.keys {
				send(m, press(k))
			}
			send(m, tea_resize(size[0], size[1]))
			checkFrame(t, fmt.Sprintf("%s at %dx%d", sc.name, size[0], size[1]), m.View().Content, size[0], size[1])
		}
	}
}
