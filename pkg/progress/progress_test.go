package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	b := New(nil, 10, 110, "views", 512)
	b.start = time.Now().Add(-10 * time.Second)
	// 50 steps of 512 views in 10 s: 2560 views/s; 50 steps left take 10 s.
	got := b.Line(60, "epoch 1/2")
	for _, want := range []string{"epoch 1/2  60/110", "2560 views/s", "ETA 0:00:10"} {
		if !strings.Contains(got, want) {
			t.Errorf("line %q lacks %q", got, want)
		}
	}
}

func TestDrawOnlyWithWriter(t *testing.T) {
	New(nil, 0, 5, "x", 1).Draw(5, "nothing to draw on") // must not panic
	if got := New(nil, 0, 0, "img", 1).Line(7, "extract"); !strings.HasPrefix(got, "extract  7  ") || strings.Contains(got, "ETA") {
		t.Errorf("unknown total: line %q", got)
	}
	var out bytes.Buffer
	b := New(&out, 0, 5, "img", 1)
	b.Draw(5, "done")
	b.Finish()
	if !strings.HasPrefix(out.String(), "\rdone  5/5") || !strings.HasSuffix(out.String(), "\n") {
		t.Fatalf("drew %q", out.String())
	}
}

func TestClock(t *testing.T) {
	if got := clock(3*time.Hour + 4*time.Minute + 5*time.Second); got != "3:04:05" {
		t.Fatalf("clock = %q", got)
	}
}
