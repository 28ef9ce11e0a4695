// Package atomicfile writes a file so that readers see either the old
// contents or the complete new contents, never a partial file: data goes to
// a temporary file in the target's directory (the same file system, so the
// final rename is atomic) and only a successful Commit renames it into place.
//
// A process killed before Commit leaves its temporary file behind,
// ".NAME.tmp-RANDOM". While a temporary is being written its writer holds an
// flock on it, which the kernel drops when the process dies: RemoveStale
// removes the temporaries no live writer holds, and a tool calls it at start.
package atomicfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	f, err := os.CreateTemp(dir, TempPattern(base))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	if err := lock(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %s: lock the temporary file: %w", path, err)
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
	// Rename before Close: the file stays locked, so RemoveStale cannot
	// take it for a dead writer's in between.
	if err == nil {
		err = os.Rename(tmp, f.target)
	}
	if err != nil {
		os.Remove(tmp)
		f.Close()
		return fmt.Errorf("write %s: %w", f.target, err)
	}
	if err := f.Close(); err != nil { // the data is synced and in place
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
	os.Remove(f.Name())
	f.Close()
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

// TempPattern is the name pattern (for os.CreateTemp and filepath.Match) of
// the temporary files of targets whose names match base, itself a name or a
// filepath.Match pattern.
func TempPattern(base string) string { return "." + base + ".tmp-*" }

// RemoveStale removes from dir the temporary files of targets whose names
// match the filepath.Match pattern base ("train.arrow",
// "simclr_epoch*.safetensors") that no live writer holds: those a killed
// process left. It returns the paths removed.
func RemoveStale(dir, base string) ([]string, error) {
	if dir == "" {
		dir = "."
	}
	paths, err := filepath.Glob(filepath.Join(dir, TempPattern(base)))
	if err != nil {
		return nil, fmt.Errorf("stale temporary files of %s: %w", base, err)
	}
	var removed []string
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			continue // gone meanwhile, or not ours to touch
		}
		if held, err := tryLock(f); err == nil && !held {
			if err := os.Remove(p); err == nil {
				removed = append(removed, p)
			}
		}
		f.Close()
	}
	return removed, nil
}

// Clean removes the stale temporaries (see RemoveStale) of each output
// path, skipping "" and "-" (standard output), and reports each one removed
// to log, when not nil, as "TOOL: removed PATH, left by a run that was
// killed". Tools call it at start for the outputs they are about to write.
func Clean(log io.Writer, tool string, paths ...string) error {
	for _, p := range paths {
		if p == "" || p == "-" {
			continue
		}
		removed, err := RemoveStale(filepath.Dir(p), filepath.Base(p))
		if err != nil {
			return err
		}
		for _, r := range removed {
			if log != nil {
				fmt.Fprintf(log, "%s: removed %s, left by a run that was killed\n", tool, r)
			}
		}
	}
	return nil
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
