package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/edgeaudit/edgeaudit/policy/report"
)

// P makes a packet-derived string safe to draw. It is report.Printable,
// the project's one sanitising function, under a short name for the many
// call sites in the panes.
func P(s string) string { return report.Printable(s) }

// bytesHuman writes a byte count as Wireshark's conversation table does
// when it abbreviates: 1.2 kB, 34 MB.
func bytesHuman(n uint64) string {
	const unit = 1000
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// countHuman groups thousands: 1,234,567.
func countHuman(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// flowDuration is the time between a flow's first and last packet.
func flowDuration(f *report.Flow) time.Duration {
	a, err1 := time.Parse(time.RFC3339Nano, f.First)
	b, err2 := time.Parse(time.RFC3339Nano, f.Last)
	if err1 != nil || err2 != nil {
		return 0
	}
	return b.Sub(a)
}

// durHuman prints a duration compactly for a table cell.
func durHuman(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// sevShort is a severity's table label: a word, so that it reads without
// colour (NO_COLOR, monochrome terminals).
func sevShort(s string) string {
	switch s {
	case "error":
		return "ERROR"
	case "warning":
		return "WARN"
	}
	return "info"
}

// roles writes a flow's roles as client>server.
func roles(f *report.Flow) string {
	c, s := f.ClientRole, f.ServerRole
	if c == "" {
		c = "any"
	}
	if s == "" {
		s = "any"
	}
	return c + ">" + s
}

// app writes a flow's protocol with its variant.
func app(f *report.Flow) string {
	if strings.HasPrefix(f.AppDetail, f.App+"/") {
		return f.AppDetail // the detail already names the family
	}
	if f.AppDetail != "" {
		return f.App + "/" + f.AppDetail
	}
	return f.App
}

// ruleOrFindings is what allowed the flow, or the findings against it.
func ruleOrFindings(f *report.Flow) string {
	if f.Rule != nil && *f.Rule != "" {
		return *f.Rule
	}
	if len(f.Findings) > 0 {
		return "!" + strings.Join(f.Findings, ",")
	}
	return "-"
}

// wrap word-wraps s to width cells, indenting continuation lines.
func wrap(s string, width int, indent string) string {
	if width <= len(indent)+8 {
		return s
	}
	w := ansi.Wrap(s, width-len(indent), " ,/")
	return strings.ReplaceAll(w, "\n", "\n"+indent)
}

// fit truncates a line to width cells.
func fit(s string, width int) string {
	if ansi.StringWidth(s) > width {
		return ansi.Truncate(s, width, "…")
	}
	return s
}
