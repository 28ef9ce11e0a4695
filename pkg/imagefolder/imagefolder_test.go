package imagefolder

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
)

func TestGeometry(t *testing.T) {
	for _, tt := range []struct {
		w, h int
		want Geometry
	}{
		{32, 32, Geometry{32, 32, 0, 0}},
		{64, 48, Geometry{42, 32, 5, 0}}, // int(32*64/48) = 42; round(5.0)
		{50, 40, Geometry{40, 32, 4, 0}}, // 32*50/40 = 40
		{33, 32, Geometry{33, 32, 0, 0}}, // round(0.5) = 0: half to even, as Python
		{35, 32, Geometry{35, 32, 2, 0}}, // round(1.5) = 2
		{32, 37, Geometry{32, 37, 0, 2}}, // round(2.5) = 2
		{10, 100, Geometry{32, 320, 0, 144}},
	} {
		if got := GeometryOf(tt.w, tt.h); got != tt.want {
			t.Errorf("GeometryOf(%d, %d) = %+v, want %+v", tt.w, tt.h, got, tt.want)
		}
	}
}

// TestBilinearCoeffs checks Pillow's weights on cases worked by hand: halving
// reads four inputs weighted 1, 3, 3, 1 (eighths), three at the edge (3, 3, 1
// sevenths); doubling is half-pixel-centred linear interpolation.
func TestBilinearCoeffs(t *testing.T) {
	const one = 1 << precision
	fix := func(num, den int) int32 { return int32(float64(num)/float64(den)*one + 0.5) }
	c := bilinearCoeffs(64, 32)
	if c.bounds[2] != 1 || c.bounds[3] != 4 || !slices.Equal(c.k[c.ksize:c.ksize+4], []int32{fix(1, 8), fix(3, 8), fix(3, 8), fix(1, 8)}) {
		t.Errorf("64->32, output 1: bounds %v, weights %v", c.bounds[2:4], c.k[c.ksize:c.ksize+4])
	}
	if c.bounds[0] != 0 || c.bounds[1] != 3 || !slices.Equal(c.k[:3], []int32{fix(3, 7), fix(3, 7), fix(1, 7)}) {
		t.Errorf("64->32, output 0: bounds %v, weights %v", c.bounds[:2], c.k[:3])
	}
	up := bilinearCoeffs(16, 32)
	if up.bounds[0] != 0 || up.bounds[1] != 1 || up.k[0] != one {
		t.Errorf("16->32, output 0: bounds %v, weight %v", up.bounds[:2], up.k[0])
	}
	if up.bounds[2] != 0 || up.bounds[3] != 2 || !slices.Equal(up.k[up.ksize:up.ksize+2], []int32{fix(3, 4), fix(1, 4)}) {
		t.Errorf("16->32, output 1: bounds %v, weights %v", up.bounds[2:4], up.k[up.ksize:up.ksize+2])
	}
}

func TestToCHW(t *testing.T) {
	// A 64×64 image of vertical stripes two pixels wide, red 0 and 200,
	// green constant, blue four times the row, alpha varying.
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			r := uint8(0)
			if x/2%2 == 1 {
				r = 200
			}
			img.SetNRGBA(x, y, color.NRGBA{r, 77, uint8(y * 4), uint8(x)}) // alpha is dropped
		}
	}
	dst := make([]uint8, arrowio.ImageSize)
	ToCHW(dst, img)
	// Output column j reads inputs 2j-1..2j+2 with weights 1,3,3,1: for j
	// even, inputs 2j-1 (red 200), 2j, 2j+1 (0), 2j+2 (200): 400/8 = 50;
	// for j odd, 2j-1 (0), 2j, 2j+1 (200), 2j+2 (0): 1200/8 = 150.
	for j := 1; j < 31; j++ {
		want := uint8(50)
		if j%2 == 1 {
			want = 150
		}
		if got := dst[5*32+j]; got != want {
			t.Fatalf("red at row 5, column %d = %d, want %d", j, got, want)
		}
	}
	for i := range 1024 {
		if dst[1024+i] != 77 {
			t.Fatalf("green %d = %d, want 77 (a constant stays constant)", i, dst[1024+i])
		}
	}
	// Blue is 4y: row 5 reads rows 9-12 with weights 1,3,3,1: 4*(9+36+33+12)/8 = 42.
	if got := dst[2048+5*32+7]; got != 42 {
		t.Errorf("blue at row 5 = %d, want 42", got)
	}

	// A wide grey image: the centre is cut out after the resize.
	gray := image.NewGray(image.Rect(0, 0, 96, 32))
	for x := range 96 {
		for y := range 32 {
			gray.SetGray(x, y, color.Gray{uint8(x)})
		}
	}
	ToCHW(dst, gray)
	for c := range 3 {
		if got := dst[c*1024 : c*1024+32]; !slices.Equal(got, seq(32, 64)) {
			t.Errorf("channel %d row 0 = %v, want 32..63", c, got)
		}
	}
}

func seq(from, to int) []uint8 {
	var s []uint8
	for i := from; i < to; i++ {
		s = append(s, uint8(i))
	}
	return s
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func flat(w, h int, c color.Color) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	red := flat(8, 8, color.NRGBA{255, 0, 0, 255})
	for _, p := range []string{"zebra/b.png", "zebra/a.PNG", "cat/sub/z.png", "cat/b.jpg", "cat/a.png", "cat/.hidden.png", "ant/x.jpeg"} {
		writePNG(t, filepath.Join(dir, p), red)
	}
	os.WriteFile(filepath.Join(dir, "cat", "notes.txt"), []byte("hi"), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("hi"), 0o644)
	l, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.Classes, []string{"ant", "cat", "zebra"}) {
		t.Errorf("classes %v", l.Classes)
	}
	want := []File{{"ant/x.jpeg", 0}, {"cat/a.png", 1}, {"cat/b.jpg", 1}, {"cat/sub/z.png", 1}, {"zebra/a.PNG", 2}, {"zebra/b.png", 2}}
	if !slices.Equal(l.Files, want) {
		t.Errorf("files %v, want %v", l.Files, want)
	}
	if l.Ignored != 3 {
		t.Errorf("ignored %d, want 3 (README, notes.txt, .hidden.png)", l.Ignored)
	}

	flatDir := t.TempDir()
	for _, p := range []string{"b.png", "a.jpg", "c.gif"} {
		writePNG(t, filepath.Join(flatDir, p), red)
	}
	l, err = Scan(flatDir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Classes != nil || !slices.Equal(l.Files, []File{{"a.jpg", 0}, {"b.png", 0}}) || l.Ignored != 1 {
		t.Errorf("flat folder: %+v", l)
	}

	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	if _, err := Scan(dir); err == nil || !strings.Contains(err.Error(), `class folder "empty" holds no .png, .jpg or .jpeg files`) {
		t.Errorf("empty class: err = %v", err)
	}
	if _, err := Scan(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .png, .jpg or .jpeg files") {
		t.Errorf("empty folder: err = %v", err)
	}
}

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a", "1.png"), flat(40, 32, color.NRGBA{10, 20, 30, 255}))
	var jp bytes.Buffer
	if err := jpeg.Encode(&jp, flat(64, 64, color.NRGBA{200, 100, 50, 255}), &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a", "2.jpg"), jp.Bytes(), 0o644)
	os.MkdirAll(filepath.Join(dir, "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "b", "bad.png"), []byte("not a png"), 0o644)
	writePNG(t, filepath.Join(dir, "b", "gray.png"), image.NewGray16(image.Rect(0, 0, 32, 32)))
	l, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []arrowio.ImageBatch
	write := func(b arrowio.ImageBatch) error { got = append(got, b); return nil }
	if _, err := Convert(dir, l, Options{Workers: 2}, write); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "b", "bad.png")) {
		t.Errorf("bad file: err = %v, want one naming it", err)
	}
	got = nil
	var bad []error
	res, err := Convert(dir, l, Options{Workers: 2, SkipBad: true, Bad: func(err error) { bad = append(bad, err) }}, write)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Skipped != 1 || len(bad) != 1 || len(got) != 1 {
		t.Fatalf("result %+v, bad %v, %d batches", res, bad, len(got))
	}
	b := got[0]
	if !slices.Equal(b.Index, []int32{0, 1, 2}) || !slices.Equal(b.Label, []uint8{0, 0, 1}) || !slices.Equal(b.Path, []string{"a/1.png", "a/2.jpg", "b/gray.png"}) {
		t.Errorf("rows %v %v %v", b.Index, b.Label, b.Path)
	}
	if p := b.Image(0); p[0] != 10 || p[1024+500] != 20 || p[2048+1023] != 30 {
		t.Errorf("png pixels %d %d %d, want 10 20 30", p[0], p[1024+500], p[2048+1023])
	}
	if p := b.Image(1); absDiff(p[0], 200) > 3 || absDiff(p[1024], 100) > 3 || absDiff(p[2048], 50) > 3 {
		t.Errorf("jpeg pixels %d %d %d, want about 200 100 50", p[0], p[1024], p[2048])
	}
	if d1, d2 := Digest(dir, l), Digest(dir, l); d1 != d2 || len(d1) != 64 {
		t.Errorf("digest %q, then %q", d1, d2)
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
