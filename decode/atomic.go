package decode

import (
	"errors"
	"os"
	"path/filepath"
)

// AtomicFile is an output written under a temporary name in the target's
// directory and renamed into place by Commit, so an interrupted run never
// leaves a half-written file under the final name.
type AtomicFile struct {
	*os.File
	path   string
	done   bool
	direct bool // the target is a device, pipe or socket: written in place
}

// CreateAtomic starts writing path. Finish with Commit, or Abort to discard;
// calling Abort after Commit is a no-op, so `defer f.Abort()` is safe.
func CreateAtomic(path string) (*AtomicFile, error) {
	// Renaming over /dev/null or a FIFO would replace the device with a
	// regular file: write to those directly, there is nothing to tear.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &AtomicFile{File: f, path: path, direct: true}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// Hidden and marked so a directory scan (audit DIR) does not pick a
	// temporary up as a capture.
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &AtomicFile{File: tmp, path: path}, nil
}

// Path is the final name the file gets on Commit.
func (a *AtomicFile) Path() string { return a.path }

// Commit flushes the data to disk and renames the file into place.
func (a *AtomicFile) Commit() error {
	if a.done {
		return errors.New(a.path + ": already committed or aborted")
	}
	a.done = true
	if a.direct {
		return a.File.Close()
	}
	tmp := a.File.Name()
	err := a.File.Chmod(0o644)
	if err == nil {
		err = a.File.Sync()
	}
	if cerr := a.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, a.path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	// Make the rename itself durable; not every platform can sync a
	// directory, so failure here is not an error.
	if d, derr := os.Open(filepath.Dir(a.path)); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort discards the temporary file.
func (a *AtomicFile) Abort() error {
	if a.done {
		return nil
	}
	a.done = true
	a.File.Close()
	if a.direct {
		return nil
	}
	return os.Remove(a.File.Name())
}
