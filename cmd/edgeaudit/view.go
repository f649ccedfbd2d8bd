package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	xterm "github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
	"github.com/edgeaudit/edgeaudit/tui"
)

type viewFlags struct {
	commonFlags
	outDir  string
	logFile string
	noMouse bool
}

// newViewCmd is `edgeaudit view`: the interactive UI over capture files.
func newViewCmd() *cobra.Command {
	var f viewFlags
	cmd := &cobra.Command{
		Use:   "view [flags] CAPTURE...",
		Short: "Explore captures interactively: findings as they are found, flows, evidence",
		Long: `View audits the captures like audit does, in the background, and shows the
findings as they are found, worst first, with the packets that prove them.
Press ? in the UI for every key. When standard output is not a terminal,
view prints the text report instead.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runView(cmd, &f, args) },
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.outDir, "out-dir", ".", "directory where w writes evidence pcapng files")
	cmd.Flags().StringVar(&f.logFile, "log", "", "log file (default $XDG_STATE_HOME/edgeaudit/view.log)")
	cmd.Flags().BoolVar(&f.noMouse, "no-mouse", false, "leave the mouse to the terminal (no wheel scrolling, native selection)")
	return cmd
}

func runView(cmd *cobra.Command, f *viewFlags, args []string) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	paths, notes, err := expandInputs(args)
	if err != nil {
		return usageErr("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stdout := cmd.OutOrStdout()
	if !isTerminal(stdout) {
		// A pipe or a file wants text, not a screen: print what audit
		// would, in the text format.
		inputs, problems := audit.OpenFiles(paths)
		rep, err := audit.Run(ctx, inputs, append(problems, notes...), o)
		if werr := report.WriteText(stdout, rep, report.TextOptions{}); werr != nil {
			return &exitError{code: exitUsage, err: werr}
		}
		if errors.Is(err, audit.ErrNoInput) {
			return &exitError{code: exitUsage, err: fmt.Errorf("%w: %s", err, describeProblems(rep))}
		}
		return nil
	}

	logPath, closeLog, err := openLog(f.logFile)
	if err != nil {
		return usageErr("log file: %v", err)
	}
	defer closeLog()

	inputs, problems := audit.OpenFiles(paths)
	if len(inputs) == 0 {
		var msgs []string
		for _, p := range problems {
			msgs = append(msgs, report.Printable(p.Message))
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("%w: %s", audit.ErrNoInput, strings.Join(msgs, "; "))}
	}
	problems = append(problems, notes...)
	var points []tui.PointSource
	var names []string
	for _, in := range inputs {
		points = append(points, tui.PointSource{Point: in.Name, File: in.Path, Iface: -1})
		names = append(names, in.Name)
	}
	cfg := tui.Config{
		Load: func(ctx context.Context, sink audit.Sink) (*report.Report, error) {
			o := o
			o.Sink = sink
			return audit.Run(ctx, inputs, problems, o)
		},
		Points:   points,
		Topology: o.Topology,
		Rules:    o.Rules,
		OutDir:   f.outDir,
		Mouse:    !f.noMouse,
		Title:    strings.Join(names, " "),
	}
	log.Printf("view %s", strings.Join(paths, " "))
	rep, err := tui.Run(ctx, cfg)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("terminal UI: %w (log: %s)", err, logPath)}
	}
	if rep != nil {
		s := rep.Summary.Findings
		fmt.Fprintf(cmd.ErrOrStderr(), "edgeaudit: %d error, %d warning, %d info findings\n", s["error"], s["warning"], s["info"])
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && xterm.IsTerminal(f.Fd())
}

// openLog sends the standard logger to a file: the UI owns the screen, so
// nothing may print to it. The default follows the XDG base directories.
func openLog(path string) (string, func(), error) {
	if path == "" {
		dir := os.Getenv("XDG_STATE_HOME")
		if dir == "" {
			if home, err := os.UserHomeDir(); err == nil {
				dir = filepath.Join(home, ".local", "state")
			} else {
				dir = os.TempDir()
			}
		}
		path = filepath.Join(dir, "edgeaudit", "view.log")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			path = filepath.Join(os.TempDir(), "edgeaudit-view.log")
		}
	}
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", nil, err
	}
	prev := log.Writer()
	log.SetOutput(lf)
	return path, func() {
		log.SetOutput(prev)
		lf.Close()
	}, nil
}
