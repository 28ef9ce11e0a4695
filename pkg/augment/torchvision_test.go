package augment

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"testing"
)

// fixtures are torchvision's outputs for fixed parameters, made by
// testdata/gen_fixtures.py.
type fixtures struct {
	Torch       string
	Torchvision string
	Images      []string
	Cases       []struct {
		Op     string
		Image  int
		Params struct {
			Top, Left, Height, Width int
			Factor, Sigma            float64
			Flip, Jitter, Gray, Blur bool
			Order                    []string
			Brightness, Contrast     float64
			Saturation, Hue          float64
		}
		Output string
	}
}

func loadFixtures(t *testing.T) (*fixtures, [][]uint8) {
	t.Helper()
	f, err := os.Open("testdata/torchvision.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var fx fixtures
	if err := json.NewDecoder(zr).Decode(&fx); err != nil {
		t.Fatal(err)
	}
	imgs := make([][]uint8, len(fx.Images))
	for i, s := range fx.Images {
		imgs[i] = decodeImage(t, s)
	}
	return &fx, imgs
}

func decodeImage(t *testing.T, s string) []uint8 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ImageLen {
		t.Fatalf("fixture image: %d bytes, %v", len(b), err)
	}
	return b
}

func adjustmentNamed(t *testing.T, name string) Adjustment {
	t.Helper()
	for a := range Adjustment(len(adjustmentNames)) {
		if a.String() == name {
			return a
		}
	}
	t.Fatalf("unknown adjustment %q", name)
	return 0
}

// TestTorchvision checks every transform against torchvision's output for
// the same parameters: at most one intensity level apart.
func TestTorchvision(t *testing.T) {
	fx, imgs := loadFixtures(t)
	t.Logf("fixtures from torch %s, torchvision %s: %d cases", fx.Torch, fx.Torchvision, len(fx.Cases))
	type tally struct{ cases, values, exact, worst int }
	tallies := map[string]*tally{}
	for k, c := range fx.Cases {
		src, want := imgs[c.Image], decodeImage(t, c.Output)
		got := make([]uint8, ImageLen)
		copy(got, src)
		p := c.Params
		switch c.Op {
		case "crop":
			ResizedCrop(got, src, p.Top, p.Left, p.Height, p.Width)
		case "hflip":
			HFlip(got)
		case "brightness", "contrast", "saturation", "hue":
			adjustmentNamed(t, c.Op).Apply(got, p.Factor)
		case "grayscale":
			Grayscale(got)
		case "blur":
			GaussianBlur(got, p.Sigma)
		case "view":
			vp := Params{
				Top: p.Top, Left: p.Left, Height: p.Height, Width: p.Width,
				Flip: p.Flip, Jitter: p.Jitter, Gray: p.Gray, Blur: p.Blur, Sigma: p.Sigma,
				Factors: [4]float64{p.Brightness, p.Contrast, p.Saturation, p.Hue},
			}
			for i, name := range p.Order {
				vp.Order[i] = adjustmentNamed(t, name)
			}
			vp.Apply(got, src)
		default:
			t.Fatalf("case %d: unknown op %q", k, c.Op)
		}
		tl := tallies[c.Op]
		if tl == nil {
			tl = &tally{}
			tallies[c.Op] = tl
		}
		tl.cases++
		worst := 0
		for i := range got {
			d := max(int(got[i])-int(want[i]), int(want[i])-int(got[i]))
			worst = max(worst, d)
			tl.values++
			if d == 0 {
				tl.exact++
			}
		}
		tl.worst = max(tl.worst, worst)
		if worst > 1 {
			t.Errorf("case %d (%s on image %d, %+v): differs from torchvision by up to %d levels", k, c.Op, c.Image, p, worst)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(tallies)) {
		tl := tallies[op]
		t.Logf("%-10s %2d cases: %6d/%6d values exact, max difference %d", op, tl.cases, tl.exact, tl.values, tl.worst)
	}
}
