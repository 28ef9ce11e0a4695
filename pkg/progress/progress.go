// Package progress draws a one-line status of long work on a terminal,
// redrawn in place a few times a second, with rate and time remaining.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// Bar counts units of work (steps, images) towards a total.
type Bar struct {
	w           io.Writer // nil: draw nothing
	total       int64
	unit        string
	scale       int64 // units per counted item, for the rate (views per step)
	start, last time.Time
	base        int64 // done when the bar started (a resumed run)
}

const redrawEvery = 250 * time.Millisecond

// Stderr is os.Stderr when it is a terminal, else nil: progress lines are
// for people, and logs stay clean.
func Stderr() io.Writer {
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return os.Stderr
	}
	return nil
}

// New starts a bar over total items, having done done already; the rate is
// shown in unit per second, counting scale units per item.
func New(w io.Writer, done, total int64, unit string, scale int64) *Bar {
	now := time.Now()
	return &Bar{w: w, total: total, unit: unit, scale: scale, start: now, base: done}
}

// Rate is the units per second since the bar started.
func (b *Bar) Rate(done int64) float64 {
	el := time.Since(b.start).Seconds()
	if el <= 0 {
		return 0
	}
	return float64((done-b.base)*b.scale) / el
}

// Line formats the status for done items, prefixed by status. A total of
// zero or less means unknown: no total and no ETA.
func (b *Bar) Line(done int64, status string) string {
	line := fmt.Sprintf("%s  %d", status, done)
	if b.total > 0 {
		line += fmt.Sprintf("/%d", b.total)
	}
	if rate := b.Rate(done); rate > 0 {
		line += fmt.Sprintf("  %.0f %s/s", rate, b.unit)
		if done < b.total {
			left := float64((b.total-done)*b.scale) / rate
			line += "  ETA " + clock(time.Duration(left*float64(time.Second)))
		}
	}
	return line
}

// Draw redraws the line if it has not been drawn in the last moment.
func (b *Bar) Draw(done int64, status string) {
	if b.w == nil {
		return
	}
	if now := time.Now(); now.Sub(b.last) >= redrawEvery || done == b.total {
		b.last = now
		// \r returns to the line start, \x1b[K clears what a longer line left.
		fmt.Fprintf(b.w, "\r%s\x1b[K", b.Line(done, status))
	}
}

// Finish ends the line.
func (b *Bar) Finish() {
	if b.w != nil {
		fmt.Fprintln(b.w)
	}
}

// clock formats a duration as h:mm:ss.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second).Seconds())
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
