package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/edgeaudit/edgeaudit/policy"
)

// expandInputs turns the command line's paths into capture files:
// directories are walked recursively (in name order, so runs repeat), globs
// the shell did not expand are expanded. Files under a directory that turn
// out not to be captures are noted, not fatal; the reader decides by
// content, not by name.
func expandInputs(args []string) (paths []string, notes []policy.Finding, err error) {
	for _, a := range args {
		if a == "-" {
			paths = append(paths, a)
			continue
		}
		matches := []string{a}
		if hasGlob(a) {
			m, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, nil, fmt.Errorf("%s: %w", a, gerr)
			}
			if len(m) == 0 {
				return nil, nil, fmt.Errorf("%s: no file matches", a)
			}
			matches = m
		}
		for _, p := range matches {
			st, serr := os.Stat(p)
			if serr != nil {
				return nil, nil, serr
			}
			if !st.IsDir() {
				paths = append(paths, p)
				continue
			}
			var found []string
			werr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					notes = append(notes, policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: 1,
						Message: fmt.Sprintf("%s could not be read: %v", path, err)})
					return nil
				}
				if d.Type().IsRegular() {
					found = append(found, path)
				}
				return nil
			})
			if werr != nil {
				return nil, nil, werr
			}
			sort.Strings(found)
			paths = append(paths, found...)
		}
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no input files in %v", args)
	}
	return paths, notes, nil
}

func hasGlob(s string) bool {
	for _, c := range s {
		if c == '*' || c == '?' || c == '[' {
			return true
		}
	}
	return false
}
