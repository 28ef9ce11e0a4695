// Package plot draws the PNG charts the tools leave for people: the
// pretraining loss curve and 2-d maps of features coloured by class.
package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"slices"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/simclr-go/simclr/pkg/atomicfile"
)

const (
	width, height = 640, 420
	left, right   = 70, 20 // plot-area margins in pixels
	top, bottom   = 36, 44
)

// chart is a canvas whose plot area maps data coordinates [x0,x1]×[y0,y1].
type chart struct {
	img            *image.RGBA
	x0, x1, y0, y1 float64
}

func newChart(title, xlabel, ylabel string, x0, x1, y0, y1 float64) *chart {
	if x1 == x0 {
		x1 = x0 + 1
	}
	if y1 == y0 {
		y0, y1 = y0-0.5, y1+0.5
	}
	c := &chart{img: image.NewRGBA(image.Rect(0, 0, width, height)), x0: x0, x1: x1, y0: y0, y1: y1}
	draw.Draw(c.img, c.img.Bounds(), image.White, image.Point{}, draw.Src)
	black := color.Black
	for x := left; x <= width-right; x++ {
		c.img.Set(x, height-bottom, black)
	}
	for y := top; y <= height-bottom; y++ {
		c.img.Set(left, y, black)
	}
	for i := 0; i <= 4; i++ {
		xv := x0 + (x1-x0)*float64(i)/4
		px, _ := c.at(xv, y0)
		c.text(px-12, height-bottom+16, tick(xv))
		yv := y0 + (y1-y0)*float64(i)/4
		_, py := c.at(x0, yv)
		c.text(4, py+4, tick(yv))
		for x := left - 4; x < left; x++ {
			c.img.Set(x, py, black)
		}
	}
	c.text(left, 20, title)
	c.text((width-len(xlabel)*7)/2, height-8, xlabel)
	c.text(4, top-8, ylabel)
	return c
}

func tick(v float64) string {
	if math.Abs(v) >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// at maps data coordinates to pixels.
func (c *chart) at(x, y float64) (int, int) {
	px := left + (x-c.x0)/(c.x1-c.x0)*float64(width-left-right)
	py := float64(height-bottom) - (y-c.y0)/(c.y1-c.y0)*float64(height-top-bottom)
	return int(math.Round(px)), int(math.Round(py))
}

func (c *chart) text(x, y int, s string) {
	d := font.Drawer{Dst: c.img, Src: image.Black, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// line draws a segment between two pixels.
func (c *chart) line(ax, ay, bx, by int, col color.Color) {
	steps := max(abs(bx-ax), abs(by-ay), 1)
	for i := 0; i <= steps; i++ {
		c.img.Set(ax+(bx-ax)*i/steps, ay+(by-ay)*i/steps, col)
	}
}

func abs(v int) int { return max(v, -v) }

func (c *chart) save(path string) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := png.Encode(f, c.img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// LossCurve plots the mean loss of each epoch under title.
func LossCurve(path, title string, epochLoss []float64) error {
	return lossChart(title, epochLoss, len(epochLoss)).save(path)
}

// lossChart draws the loss of epochs 1 to len(epochLoss) on an axis of
// epochs 1 to lastEpoch.
func lossChart(title string, epochLoss []float64, lastEpoch int) *chart {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range epochLoss {
		lo, hi = min(lo, v), max(hi, v)
	}
	c := newChart(title, "epoch", "loss", 1, float64(max(lastEpoch, 2)), lo, hi)
	blue := color.RGBA{31, 119, 180, 255}
	px, py := c.at(1, epochLoss[0])
	for i, v := range epochLoss {
		x, y := c.at(float64(i+1), v)
		c.line(px, py, x, y, blue)
		c.line(x-1, y, x+1, y, blue)
		px, py = x, y
	}
	return c
}

// LossAndKNN draws two panels, one above the other on a common epoch axis:
// the mean loss of each epoch under title, and below it the kNN monitor's
// accuracy (top1[i], a fraction, after epoch epochs[i]), in percent.
func LossAndKNN(path, title string, epochLoss []float64, epochs []int, top1 []float64) error {
	if len(epochs) != len(top1) || len(epochs) == 0 {
		return fmt.Errorf("plot %s: %d epochs for %d accuracies", path, len(epochs), len(top1))
	}
	last := max(len(epochLoss), slices.Max(epochs))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range top1 {
		lo, hi = min(lo, 100*v), max(hi, 100*v)
	}
	k := newChart("kNN accuracy of the monitor (%)", "epoch", "kNN %", float64(min(epochs[0], 1)), float64(max(last, 2)), lo, hi)
	orange := color.RGBA{255, 127, 14, 255}
	px, py := k.at(float64(epochs[0]), 100*top1[0])
	for i, e := range epochs {
		x, y := k.at(float64(e), 100*top1[i])
		k.line(px, py, x, y, orange)
		k.line(x-2, y, x+2, y, orange)
		k.line(x, y-2, x, y+2, orange)
		px, py = x, y
	}
	img := image.NewRGBA(image.Rect(0, 0, width, 2*height))
	if len(epochLoss) > 0 {
		draw.Draw(img, image.Rect(0, 0, width, height), lossChart(title, epochLoss, last).img, image.Point{}, draw.Src)
	} else {
		draw.Draw(img, image.Rect(0, 0, width, height), image.White, image.Point{}, draw.Src)
	}
	draw.Draw(img, image.Rect(0, height, width, 2*height), k.img, image.Point{}, draw.Src)
	return (&chart{img: img}).save(path)
}

// Palette is matplotlib's tab10, one colour per CIFAR-10 class.
var Palette = [10]color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

// Scatter plots points (xs[i], ys[i]) coloured by class, with a legend.
func Scatter(path, title string, xs, ys []float64, class []uint8, names []string) error {
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := range xs {
		x0, x1, y0, y1 = min(x0, xs[i]), max(x1, xs[i]), min(y0, ys[i]), max(y1, ys[i])
	}
	c := newChart(title, "component 1", "component 2", x0, x1, y0, y1)
	for i := range xs {
		x, y := c.at(xs[i], ys[i])
		col := Palette[int(class[i])%len(Palette)]
		c.img.Set(x, y, col)
		c.img.Set(x+1, y, col)
		c.img.Set(x, y+1, col)
		c.img.Set(x+1, y+1, col)
	}
	for k, name := range names {
		y := top + 12 + 14*k
		draw.Draw(c.img, image.Rect(width-110, y-8, width-102, y), &image.Uniform{Palette[k%len(Palette)]}, image.Point{}, draw.Src)
		c.text(width-98, y, name)
	}
	return c.save(path)
}
