package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/augment"
)

// previewGrid lays out one row per image of t: the original, a gap, then
// views 0..views-1 of epoch 0, each pixel enlarged to scale x scale.
func previewGrid(cfg augment.Config, seed uint64, t *table, views, scale int) *image.RGBA {
	gap := 2 * scale
	cell := augment.Size*scale + gap
	grid := image.NewRGBA(image.Rect(0, 0, gap+(1+views)*cell+gap, gap+t.Len()*cell))
	draw.Draw(grid, grid.Bounds(), image.NewUniform(color.RGBA{48, 48, 48, 255}), image.Point{}, draw.Src)
	view := make([]uint8, augment.ImageLen)
	for i := range t.Len() {
		src := t.Pixels[i*augment.ImageLen : (i+1)*augment.ImageLen]
		y := gap + i*cell
		drawImage(grid, gap, y, src, scale)
		for v := range views {
			cfg.View(view, src, seed, 0, int(t.Index[i]), v)
			drawImage(grid, 2*gap+(1+v)*cell, y, view, scale)
		}
	}
	return grid
}

// drawImage paints the CHW image img with its top-left corner at (x0, y0),
// each pixel a scale x scale square (nearest-neighbour enlargement).
func drawImage(dst *image.RGBA, x0, y0 int, img []uint8, scale int) {
	for y := range augment.Size * scale {
		row := dst.Pix[dst.PixOffset(x0, y0+y):]
		for x := range augment.Size * scale {
			p := y/scale*augment.Size + x/scale
			copy(row[4*x:], []uint8{img[p], img[augment.Plane+p], img[2*augment.Plane+p], 255})
		}
	}
}

func writePreview(path string, grid *image.RGBA) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := png.Encode(f, grid); err != nil {
		return err
	}
	return f.Commit()
}
