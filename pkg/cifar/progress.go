package cifar

import (
	"fmt"
	"io"
	"time"
)

// progress draws a one-line download status, redrawn in place at most a few
// times a second: "name  12.0 MiB / 162.6 MiB  7%  4.5 MiB/s  ETA 0:33".
type progress struct {
	w           io.Writer
	name        string
	done, total int64 // total < 0 when unknown
	resumed     int64 // bytes already there before this transfer
	start, last time.Time
}

const redrawEvery = 200 * time.Millisecond

func newProgress(w io.Writer, name string, have, total int64) *progress {
	now := time.Now()
	return &progress{w: w, name: name, done: have, total: total, resumed: have, start: now, last: now}
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= redrawEvery {
		p.last = now
		p.draw(now)
	}
	return len(b), nil
}

func (p *progress) draw(now time.Time) {
	// \r returns to the line start, \x1b[K clears what a longer line left.
	fmt.Fprintf(p.w, "\r%s\x1b[K", formatProgress(p.name, p.done, p.total, p.done-p.resumed, now.Sub(p.start)))
}

func (p *progress) finish() {
	p.draw(time.Now())
	fmt.Fprintln(p.w)
}

// formatProgress renders the status line; moved bytes over elapsed give the rate.
func formatProgress(name string, done, total, moved int64, elapsed time.Duration) string {
	const mib = 1 << 20
	line := fmt.Sprintf("%s  %.1f MiB", name, float64(done)/mib)
	if total > 0 {
		line += fmt.Sprintf(" / %.1f MiB  %d%%", float64(total)/mib, done*100/total)
	}
	if elapsed <= 0 || moved <= 0 {
		return line
	}
	rate := float64(moved) / elapsed.Seconds()
	line += fmt.Sprintf("  %.1f MiB/s", rate/mib)
	if total > 0 && done < total {
		eta := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf("  ETA %d:%02d", int(eta.Minutes()), int(eta.Seconds())%60)
	}
	return line
}
