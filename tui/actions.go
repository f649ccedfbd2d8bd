package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/edgeaudit/edgeaudit/policy/report"
)

// The action keys: y copies a Wireshark filter, w writes packets to a
// pcapng file. Both act on the finding or flow in the detail view, or on
// the selected row.

// copyFilter copies the Wireshark filter of what is selected with OSC 52
// (the terminal does the copying, so it works over ssh) and shows it.
func (m *Model) copyFilter() tea.Cmd {
	f, fl := m.target()
	var filter string
	switch {
	case f != nil:
		filter = P(f.WiresharkFilter)
	case fl != nil:
		filter = flowFilter(fl)
	default:
		m.setNotice("select a finding or a flow first", true)
		return nil
	}
	if filter == "" {
		m.setNotice("no Wireshark filter for this one", true)
		return nil
	}
	m.setNotice("copied: "+filter, false)
	return tea.SetClipboard(filter)
}

// target is the finding or flow the action keys act on: the one in the
// detail view, else the selected row.
func (m *Model) target() (*report.Finding, *report.Flow) {
	switch m.screen {
	case scrDetail:
		return m.detail.finding, m.detail.flow
	case scrFindings:
		return m.findings.Selected(), nil
	case scrFlows:
		return nil, m.flows.Selected()
	}
	return nil, nil
}

// writtenMsg reports pcapng files written for `w`.
type writtenMsg struct {
	paths []string
	err   error
}

func (w writtenMsg) text() string {
	s := ""
	if len(w.paths) > 0 {
		s = "wrote " + strings.Join(w.paths, ", ")
	}
	if w.err != nil {
		if s != "" {
			s += "; "
		}
		s += "write failed: " + P(w.err.Error())
	}
	return s
}

// write saves the packets of the selected finding or flow as pcapng, in a
// command: reading a large capture back takes time and the UI must not
// wait for it.
func (m *Model) write() tea.Cmd {
	f, fl := m.target()
	dir := m.cfg.OutDir
	if dir == "" {
		dir = "."
	}
	switch {
	case f != nil:
		return m.writeFinding(f, dir)
	case fl != nil:
		ps, err := m.ctx.source(fl.Point)
		if err != nil {
			m.setNotice(err.Error(), true)
			return nil
		}
		flow := *fl
		m.setNotice("writing the packets of "+P(fl.ID)+"…", false)
		return func() tea.Msg {
			frames, err := flowFrames(context.Background(), ps, &flow)
			if err != nil {
				return writtenMsg{err: err}
			}
			path, err := writePcap(dir, fileName("edgeaudit", flow.ID, ps.Point), ps.File, frames)
			if err != nil {
				return writtenMsg{err: err}
			}
			return writtenMsg{paths: []string{path}}
		}
	}
	m.setNotice("select a finding or a flow first", true)
	return nil
}

func (m *Model) writeFinding(f *report.Finding, dir string) tea.Cmd {
	byFile := map[string][]uint64{}
	names := map[string]string{}
	var problems []string
	for _, e := range f.Evidence {
		ps, err := m.ctx.source(e.Point)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		byFile[ps.File] = append(byFile[ps.File], e.Packet)
		names[ps.File] = ps.Point
	}
	if len(byFile) == 0 {
		msg := "this finding has no evidence packets to write"
		if len(problems) > 0 {
			msg = problems[0]
		}
		m.setNotice(msg, true)
		return nil
	}
	files := make([]string, 0, len(byFile))
	for k := range byFile {
		files = append(files, k)
	}
	sort.Strings(files)
	id, kind := f.ID, f.Kind
	m.setNotice("writing the evidence of "+id+"…", false)
	return func() tea.Msg {
		var out writtenMsg
		for _, src := range files {
			name := fileName("edgeaudit", id, kind, names[src])
			path, err := writePcap(dir, name, src, byFile[src])
			if err != nil {
				out.err = fmt.Errorf("%s: %w", names[src], err)
				continue
			}
			out.paths = append(out.paths, path)
		}
		return out
	}
}
