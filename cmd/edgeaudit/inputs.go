package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/audit"
)

// collectInputs turns the command line's paths (and the lines of a
// --files-from list) into batch candidates:
//
//   - "-" is a capture on standard input;
//   - a directory is walked recursively in name order (hidden entries,
//     such as the temporary names outputs are written under, are skipped;
//     symbolic links to files are followed, to directories not);
//   - a pattern the shell did not expand (*, ?, [) is expanded; what it
//     matches counts as found, like a directory's files;
//   - anything else is a file named explicitly, even when it does not
//     exist (that becomes an input finding, not the end of the run).
//
// Whether a file is a capture is decided later, by content. Each file's
// key is its directory: files of one directory may be correlated, and a
// shard takes whole directories.
func collectInputs(args []string, filesFrom string, stdin io.Reader) ([]audit.BatchFile, error) {
	var out []audit.BatchFile
	stdinUsed := false
	if filesFrom != "" {
		var r io.Reader
		if filesFrom == "-" {
			r, stdinUsed = stdin, true
		} else {
			f, err := os.Open(filesFrom)
			if err != nil {
				return nil, fmt.Errorf("--files-from: %w", err)
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			out = addPath(out, line, true)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("--files-from %s: %w", filesFrom, err)
		}
	}
	for _, a := range args {
		if a == "-" {
			if stdinUsed {
				return nil, errors.New("standard input cannot be both the --files-from list and a capture")
			}
			stdinUsed = true
			out = append(out, audit.BatchFile{Path: "-", Key: "-", Explicit: true})
			continue
		}
		if hasGlob(a) {
			m, err := filepath.Glob(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			if len(m) > 0 {
				for _, p := range m {
					out = addPath(out, p, false)
				}
				continue
			}
			// No match: a literal name, which will not be found.
		}
		out = addPath(out, a, true)
	}
	return out, nil
}

// addPath adds a file, or a directory's files.
func addPath(out []audit.BatchFile, p string, explicit bool) []audit.BatchFile {
	st, err := os.Stat(p)
	if err != nil || !st.IsDir() {
		return append(out, audit.BatchFile{Path: p, Key: keyOf(p), Explicit: explicit})
	}
	var found []audit.BatchFile
	filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			found = append(found, audit.BatchFile{Path: path, Key: keyOf(path), Err: err})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if path != p && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.Type().IsRegular():
		case d.Type()&fs.ModeSymlink != 0:
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				return nil
			}
		default:
			return nil
		}
		found = append(found, audit.BatchFile{Path: path, Key: keyOf(path)})
		return nil
	})
	sort.SliceStable(found, func(i, j int) bool { return found[i].Path < found[j].Path })
	return append(out, found...)
}

// keyOf is the grouping and sharding key of a file: its directory.
func keyOf(p string) string { return filepath.Dir(filepath.Clean(p)) }

// expandInputs is the simple expansion of the single-run commands (view,
// policy init --from): every file found, with the files under a directory
// that are not captures left out with a note.
func expandInputs(args []string) (paths []string, notes []policy.Finding, err error) {
	files, err := collectInputs(args, "", os.Stdin)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		switch {
		case f.Err != nil:
			notes = append(notes, policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: 1,
				Message: fmt.Sprintf("%s could not be read: %v", f.Path, f.Err)})
		case f.Explicit:
			paths = append(paths, f.Path)
		default:
			if isCapture(f.Path) {
				paths = append(paths, f.Path)
			} else {
				notes = append(notes, policy.Finding{Kind: policy.KindInput, Severity: policy.Info, Count: 1,
					Message: fmt.Sprintf("%s is not a capture and was skipped", f.Path)})
			}
		}
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no input files in %v", args)
	}
	return paths, notes, nil
}

// isCapture says whether a file opens as a capture (by its magic bytes).
func isCapture(path string) bool {
	f, err := decode.Open(path)
	if err != nil {
		return !errors.Is(err, decode.ErrNotCapture)
	}
	f.Close()
	return true
}

func hasGlob(s string) bool {
	return strings.ContainsAny(s, "*?[")
}
