// Package atomicfile writes a file so that readers see either the old
// contents or the complete new contents, never a partial file: data goes to
// a temporary file in the target's directory (the same file system, so the
// final rename is atomic) and only a successful Commit renames it into place.
package atomicfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File is a pending output. Write to it like an *os.File; then call Commit
// to publish it or Abort to discard it. Deferring Abort right after Create is
// the intended use: after a successful Commit it does nothing.
type File struct {
	*os.File
	target string
	done   bool
}

// Create starts a pending file that Commit will rename to path.
// It fails early if path's directory does not exist or is not writable.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &File{File: f, target: path}, nil
}

// Commit flushes the data to stable storage and renames the temporary file to
// the target path, replacing any file already there. On failure the temporary
// file is removed and the target is left as it was.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: Commit after Commit or Abort")
	}
	f.done = true
	tmp := f.Name()
	err := f.Chmod(0o644) // CreateTemp makes 0600; outputs are ordinary files
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.target)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.target, err)
	}
	syncDir(filepath.Dir(f.target))
	return nil
}

// Abort closes and removes the temporary file. It is a no-op after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteJSON writes v as indented JSON to path, atomically: the reports
// and results the tools leave for people and scripts.
func WriteJSON(path string, v any) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// syncDir makes the rename itself durable. It is best effort: some file
// systems cannot sync a directory, and the data is already safe by then.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
