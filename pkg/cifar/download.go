package cifar

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Downloader fetches files into a cache directory: a finished download is
// never fetched again, an interrupted one resumes with an HTTP Range request,
// and transient failures (network errors, 5xx, 408, 429) are retried with
// exponential backoff, while other HTTP errors fail at once.
type Downloader struct {
	Dir      string        // cache directory, created when needed
	Client   *http.Client  // nil means http.DefaultClient
	Attempts int           // tries per download; 0 means 5
	Backoff  time.Duration // wait before the first retry, doubled for each next one; 0 means 1s
	Progress io.Writer     // where to draw a progress line (a terminal); nil for none
	Log      io.Writer     // where to note retries; nil for none
}

// DefaultCacheDir returns $XDG_CACHE_HOME/simclr, or ~/.cache/simclr.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "simclr"), nil
}

// CachePath returns where d keeps the download of rawURL: Dir/HOST/PATH, so
// that copies from different servers never mix.
func (d *Downloader) CachePath(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%q: want an http or https URL", rawURL)
	}
	p := path.Clean("/" + u.Path) // no ".." can escape Dir
	if p == "/" {
		p = "/download"
	}
	return filepath.Join(d.Dir, u.Host, filepath.FromSlash(p)), nil
}

// Fetch returns the path of a complete local copy of rawURL, downloading it
// unless the cache has it. If md5hex is not empty the download must match
// it; on a mismatch the partial file is removed so the next try starts over.
func (d *Downloader) Fetch(ctx context.Context, rawURL, md5hex string) (string, error) {
	dst, err := d.CachePath(rawURL)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	part := dst + ".part"
	attempts, wait := d.Attempts, d.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if wait <= 0 {
		wait = time.Second
	}
	for try := 1; ; try++ {
		err := d.get(ctx, rawURL, part)
		if err == nil {
			break
		}
		var perm permanentError
		if errors.As(err, &perm) || ctx.Err() != nil || try == attempts {
			return "", fmt.Errorf("download %s: %w (attempt %d of %d)", rawURL, err, try, attempts)
		}
		if d.Log != nil {
			fmt.Fprintf(d.Log, "download %s: %v; retrying in %v (attempt %d of %d)\n", rawURL, err, wait, try+1, attempts)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("download %s: %w", rawURL, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	if md5hex != "" {
		if err := checkMD5(part, md5hex); err != nil {
			os.Remove(part)
			return "", fmt.Errorf("download %s: %w", rawURL, err)
		}
	}
	if err := os.Rename(part, dst); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return dst, nil
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// get fetches rawURL into part, appending to what part already holds when
// the server honours a Range request.
func (d *Downloader) get(ctx context.Context, rawURL, part string) error {
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return permanentError{err}
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return permanentError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return permanentError{err}
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	total := resp.ContentLength
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent:
		start, size := parseContentRange(resp.Header.Get("Content-Range"))
		if start != have {
			// Not the continuation asked for: start over on the next try.
			if err := f.Truncate(0); err != nil {
				return permanentError{err}
			}
			return fmt.Errorf("server resumed at byte %d, not %d", start, have)
		}
		total = size
	case code == http.StatusOK: // a fresh download, or a server that ignores Range
		if err := f.Truncate(0); err != nil {
			return permanentError{err}
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return permanentError{err}
		}
		have = 0
	case code == http.StatusRequestedRangeNotSatisfiable && have > 0:
		if _, size := parseContentRange(resp.Header.Get("Content-Range")); size == have {
			return nil // the partial file was already complete
		}
		if err := f.Truncate(0); err != nil {
			return permanentError{err}
		}
		return errors.New("server refused to resume the partial download; starting over")
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return fmt.Errorf("HTTP %s", resp.Status)
	default:
		return permanentError{fmt.Errorf("HTTP %s", resp.Status)}
	}

	var dst io.Writer = f
	if d.Progress != nil {
		p := newProgress(d.Progress, path.Base(req.URL.Path), have, total)
		defer p.finish()
		dst = io.MultiWriter(f, p)
	}
	if _, err := io.Copy(dst, resp.Body); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return permanentError{err} // writing the cache failed: disk full, ...
		}
		return err // the connection failed: resume on the next try
	}
	return f.Sync()
}

// parseContentRange returns the first byte and the full size of a
// Content-Range value "bytes FIRST-LAST/SIZE" or "bytes */SIZE"; -1 for
// what is absent or unknown.
func parseContentRange(v string) (first, size int64) {
	first, size = -1, -1
	spec, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return
	}
	rng, sz, ok := strings.Cut(spec, "/")
	if !ok {
		return
	}
	if n, err := strconv.ParseInt(sz, 10, 64); err == nil {
		size = n
	}
	if a, _, ok := strings.Cut(rng, "-"); ok {
		if n, err := strconv.ParseInt(a, 10, 64); err == nil {
			first = n
		}
	}
	return
}

func checkMD5(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("MD5 %s, want %s: the download is corrupt or not the official archive", got, want)
	}
	return nil
}
