package cifar

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// misbehave says how a fileServer departs from a well-behaved server.
type misbehave struct {
	fail        int  // answer this many first requests with 503
	cutAt       int  // cut the first full response after this many bytes (0: never)
	ignoreRange bool // answer every request with the whole file
	status      int  // answer every request with this status (0: serve)
}

// fileServer serves data at /d/archive.tar.gz, misbehaving as told, and
// records the Range header of every request.
type fileServer struct {
	misbehave
	data []byte

	mu     sync.Mutex
	ranges []string
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.ranges)
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	switch {
	case s.status != 0:
		http.Error(w, "no", s.status)
	case n < s.fail:
		http.Error(w, "busy", http.StatusServiceUnavailable)
	case s.cutAt > 0 && n == s.fail:
		w.Header().Set("Content-Length", fmt.Sprint(len(s.data)))
		w.Write(s.data[:s.cutAt])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	case s.ignoreRange:
		w.Write(s.data)
	default:
		http.ServeContent(w, r, "archive.tar.gz", time.Time{}, bytes.NewReader(s.data))
	}
}

func (s *fileServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func TestFetch(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160,000 bytes
	const partLen = 1000
	for _, tt := range []struct {
		name    string
		srv     misbehave
		part    []byte // a partial download already in the cache
		md5     string
		want    []string // Range headers of the requests, in order
		wantErr string
	}{
		{name: "fresh", want: []string{""}},
		{name: "checked MD5", md5: md5hex(data), want: []string{""}},
		{name: "resume", part: data[:partLen], want: []string{"bytes=1000-"}},
		{name: "resume, server ignores Range", srv: misbehave{ignoreRange: true}, part: data[:partLen], want: []string{"bytes=1000-"}},
		{name: "retry 503", srv: misbehave{fail: 2}, want: []string{"", "", ""}},
		{name: "connection cut, resume", srv: misbehave{cutAt: 70000}, md5: md5hex(data), want: []string{"", "bytes=70000-"}},
		{name: "stale part longer than the file", part: append(bytes.Clone(data), "junk"...), want: []string{"bytes=160004-", ""}},
		{name: "part already complete", part: data, want: []string{"bytes=160000-"}},
		{name: "404 is not retried", srv: misbehave{status: 404}, want: []string{""}, wantErr: "HTTP 404 Not Found (attempt 1 of 3)"},
		{name: "gives up", srv: misbehave{fail: 10}, want: []string{"", "", ""}, wantErr: "HTTP 503 Service Unavailable (attempt 3 of 3)"},
		{name: "MD5 mismatch", md5: md5hex([]byte("other")), want: []string{""}, wantErr: "MD5 "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := &fileServer{misbehave: tt.srv, data: data}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			url := ts.URL + "/d/archive.tar.gz"
			var log bytes.Buffer
			d := &Downloader{Dir: t.TempDir(), Attempts: 3, Backoff: time.Millisecond, Log: &log}
			dst, err := d.CachePath(url)
			if err != nil {
				t.Fatal(err)
			}
			if tt.part != nil {
				os.MkdirAll(filepath.Dir(dst), 0o755)
				if err := os.WriteFile(dst+".part", tt.part, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.Fetch(context.Background(), url, tt.md5)
			if reqs := srv.requests(); strings.Join(reqs, ",") != strings.Join(tt.want, ",") {
				t.Errorf("requests with Range %q, want %q", reqs, tt.want)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), url) {
					t.Fatalf("err = %v, want one naming the URL and containing %q", err, tt.wantErr)
				}
				if _, err := os.Stat(dst); err == nil {
					t.Error("a failed download left a cached file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != dst {
				t.Errorf("path %s, want %s", got, dst)
			}
			if b, _ := os.ReadFile(got); !bytes.Equal(b, data) {
				t.Fatalf("downloaded %d bytes that differ from the %d served", len(b), len(data))
			}
			if _, err := os.Stat(dst + ".part"); err == nil {
				t.Error("partial file left behind")
			}
			if tt.srv.fail > 0 && !strings.Contains(log.String(), "retrying") {
				t.Errorf("log %q does not mention the retry", log.String())
			}
			// A second fetch is served by the cache.
			before := len(srv.requests())
			if _, err := d.Fetch(context.Background(), url, tt.md5); err != nil {
				t.Fatal(err)
			}
			if after := len(srv.requests()); after != before {
				t.Errorf("second fetch made %d requests, want none", after-before)
			}
		})
	}
}

func TestFetchMD5MismatchRemovesPartial(t *testing.T) {
	ts := httptest.NewServer(&fileServer{data: []byte("not the archive")})
	defer ts.Close()
	d := &Downloader{Dir: t.TempDir()}
	url := ts.URL + "/a.tar.gz"
	if _, err := d.Fetch(context.Background(), url, ArchiveMD5); err == nil {
		t.Fatal("no error")
	}
	dst, _ := d.CachePath(url)
	if _, err := os.Stat(dst + ".part"); !os.IsNotExist(err) {
		t.Errorf("partial file kept after an MD5 mismatch (stat err %v)", err)
	}
}

func TestFetchDrawsProgress(t *testing.T) {
	ts := httptest.NewServer(&fileServer{data: make([]byte, 3<<20)})
	defer ts.Close()
	var out bytes.Buffer
	d := &Downloader{Dir: t.TempDir(), Progress: &out}
	if _, err := d.Fetch(context.Background(), ts.URL+"/x/a.tar.gz", ""); err != nil {
		t.Fatal(err)
	}
	// The last redraw, which finishing forces, shows the whole transfer.
	s := out.String()
	last := s[strings.LastIndex(s, "\r")+1:]
	if !strings.HasPrefix(last, "a.tar.gz  3.0 MiB / 3.0 MiB  100%") || !strings.HasSuffix(s, "\n") {
		t.Errorf("progress output %q", s)
	}
}

func TestCachePath(t *testing.T) {
	d := &Downloader{Dir: "/c"}
	for _, tt := range []struct{ url, want, err string }{
		{ArchiveURL, "/c/www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", ""},
		{"http://127.0.0.1:8080/../../etc/passwd", "/c/127.0.0.1:8080/etc/passwd", ""},
		{"https://mirror.example/", "/c/mirror.example/download", ""},
		{"ftp://x/y", "", "want an http or https URL"},
		{"/local/file.tar.gz", "", "want an http or https URL"},
	} {
		got, err := d.CachePath(tt.url)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("CachePath(%q) = %q, %v; want %q, %q", tt.url, got, err, tt.want, tt.err)
		}
	}
}

func TestFormatProgress(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		done, total, moved int64
		elapsed            time.Duration
		want               string
	}{
		{0, 100 * mib, 0, 0, "f  0.0 MiB / 100.0 MiB  0%"},
		{25 * mib, 100 * mib, 20 * mib, 4 * time.Second, "f  25.0 MiB / 100.0 MiB  25%  5.0 MiB/s  ETA 0:15"},
		{100 * mib, 100 * mib, 100 * mib, 10 * time.Second, "f  100.0 MiB / 100.0 MiB  100%  10.0 MiB/s"},
		{3 * mib, -1, 3 * mib, time.Second, "f  3.0 MiB  3.0 MiB/s"},
		{1 * mib, 200 * mib, 1 * mib, 10 * time.Second, "f  1.0 MiB / 200.0 MiB  0%  0.1 MiB/s  ETA 33:10"},
	} {
		if got := formatProgress("f", tt.done, tt.total, tt.moved, tt.elapsed); got != tt.want {
			t.Errorf("formatProgress(%d, %d, %d, %v) = %q, want %q", tt.done, tt.total, tt.moved, tt.elapsed, got, tt.want)
		}
	}
}
