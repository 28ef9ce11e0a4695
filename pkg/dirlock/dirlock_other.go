//go:build !unix

package dirlock

// Lock is a held directory lock. Without flock there is none: Acquire
// always succeeds, and one run per directory is not enforced.
type Lock struct{}

// Acquire locks nothing on this platform.
func Acquire(dir, tool string) (*Lock, error) { return &Lock{}, nil }

// Unlock does nothing.
func (l *Lock) Unlock() {}
