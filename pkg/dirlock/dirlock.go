//go:build unix

// Package dirlock gives one process at a time a directory to write into:
// an flock on DIR/.TOOL.lock, which holds the holder's PID. The kernel
// releases it when the process dies, however it dies, so a lock is never
// stale; Unlock also removes the file.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Lock is a held directory lock.
type Lock struct {
	f    *os.File
	path string
}

// Acquire locks dir for tool, or fails at once, naming the holder's PID,
// when another process holds it.
func Acquire(dir, tool string) (*Lock, error) {
	path := filepath.Join(dir, "."+tool+".lock")
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			pid, _ := os.ReadFile(path)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%s is in use by another %s (PID %s, lock %s): one run per directory",
					dir, tool, holder(pid), path)
			}
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		// The holder we waited for may have removed the file as it
		// unlocked: then our lock is on a name no one else sees; retry.
		if same(f, path) {
			l := &Lock{f: f, path: path}
			if err := l.writePID(); err != nil {
				l.Unlock()
				return nil, err
			}
			return l, nil
		}
		f.Close()
	}
}

func holder(b []byte) string {
	s := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(s); err != nil {
		return "unknown"
	}
	return s
}

// same reports whether f is still the file at path.
func same(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

func (l *Lock) writePID() error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	if _, err := l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	return nil
}

// Unlock removes the lock file and releases the lock.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(l.path)
	l.f.Close()
	l.f = nil
}
