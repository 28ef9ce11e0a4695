package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/pkg/train"
)

// TestMain runs the command itself when re-executed by TestClosedPipe.
func TestMain(m *testing.M) {
	if os.Getenv("AUGMENT_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testImages returns n images with dataset indexes 100, 103, 106, ...
func testImages(n int) arrowio.ImageBatch {
	b := arrowio.ImageBatch{Index: make([]int32, n), Label: make([]uint8, n), Pixels: make([]uint8, n*arrowio.ImageSize)}
	for i := range n {
		b.Index[i], b.Label[i] = int32(100+3*i), uint8(i%10)
		for j := range arrowio.ImageSize {
			b.Pixels[i*arrowio.ImageSize+j] = uint8(j*(i+1) + j/1024*70)
		}
	}
	return b
}

type batch struct {
	index, view, epoch []int32
	label              []uint8
	pixels             []uint8
}

func readViews(t *testing.T, r io.Reader) ([]batch, map[string]string) {
	t.Helper()
	ir, err := arrowio.NewImageReader(r, "views")
	if err != nil {
		t.Fatal(err)
	}
	defer ir.Close()
	if got := ir.Extra(); !slices.Equal(got, []string{"view", "epoch"}) {
		t.Fatalf("extra columns %v, want [view epoch]", got)
	}
	var out []batch
	for ir.Next() {
		b := ir.Batch()
		out = append(out, batch{
			index: slices.Clone(b.Index), label: slices.Clone(b.Label), pixels: slices.Clone(b.Pixels),
			view: slices.Clone(b.Extra["view"]), epoch: slices.Clone(b.Extra["epoch"]),
		})
	}
	if err := ir.Err(); err != nil {
		t.Fatal(err)
	}
	return out, ir.Metadata()
}

func TestStream(t *testing.T) {
	imgs := testImages(10)
	in := cifartest.WriteTable(t, imgs)
	var out bytes.Buffer
	if err := run([]string{in, "--seed", "9", "--views", "2", "--epochs", "2", "--batch", "4", "--hue", "0.2"}, &out); err != nil {
		t.Fatal(err)
	}
	batches, meta := readViews(t, &out)

	var cfg augment.Config
	if err := json.Unmarshal([]byte(meta["augment_config"]), &cfg); err != nil {
		t.Fatalf("augment_config %q: %v", meta["augment_config"], err)
	}
	want := augment.DefaultConfig()
	want.Hue = 0.2
	if cfg != want {
		t.Errorf("augment_config %+v, want %+v", cfg, want)
	}
	for k, v := range map[string]string{"seed": "9", "views": "2", "epochs": "2", "split": "test", "layout": "view-major"} {
		if meta[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], v)
		}
	}
	if !strings.HasPrefix(meta["producer"], "augment ") {
		t.Errorf("producer %q", meta["producer"])
	}

	// Batches of 4, 4 and 2 images per epoch, view-major, each view the
	// library's view of that image.
	if sizes := []int{8, 8, 4, 8, 8, 4}; len(batches) != len(sizes) {
		t.Fatalf("%d batches, want %d", len(batches), len(sizes))
	}
	byIndex := map[int32]int{}
	for i, idx := range imgs.Index {
		byIndex[idx] = i
	}
	orders := [2][]int32{}
	view := make([]uint8, augment.ImageLen)
	for bi, b := range batches {
		k := len(b.index) / 2
		if want := []int{4, 4, 2}[bi%3]; k != want {
			t.Fatalf("batch %d: %d rows, want %d", bi, len(b.index), 2*want)
		}
		for r := range b.index {
			i, v, epoch := r%k, r/k, bi/3
			if b.index[r] != b.index[i] || b.view[r] != int32(v) || b.epoch[r] != int32(epoch) {
				t.Fatalf("batch %d row %d: index %d view %d epoch %d, want index %d view %d epoch %d",
					bi, r, b.index[r], b.view[r], b.epoch[r], b.index[i], v, epoch)
			}
			src, ok := byIndex[b.index[r]]
			if !ok || b.label[r] != imgs.Label[src] {
				t.Fatalf("batch %d row %d: index %d label %d not in the input", bi, r, b.index[r], b.label[r])
			}
			cfg.View(view, imgs.Pixels[src*arrowio.ImageSize:(src+1)*arrowio.ImageSize], 9, epoch, int(b.index[r]), v)
			if !bytes.Equal(view, b.pixels[r*arrowio.ImageSize:(r+1)*arrowio.ImageSize]) {
				t.Fatalf("batch %d row %d: not view %d of image %d", bi, r, v, b.index[r])
			}
		}
		orders[bi/3] = append(orders[bi/3], b.index[:k]...)
	}
	// Each epoch in augment.Order, the order pretrain trains in when it
	// augments in-process.
	for e, o := range orders {
		var want []int32
		for _, row := range augment.Order(9, e, len(imgs.Index)) {
			want = append(want, imgs.Index[row])
		}
		if !slices.Equal(o, want) {
			t.Errorf("epoch %d visits %v, want %v", e, o, want)
		}
	}
	if slices.Equal(orders[0], orders[1]) || slices.Equal(orders[0], imgs.Index) {
		t.Errorf("epochs not reshuffled: %v, %v", orders[0], orders[1])
	}
}

// TestViewsReadByPolars: the view stream, as written to a pipe and saved to
// a file, opens in nodejs-polars with its columns and values.
func TestViewsReadByPolars(t *testing.T) {
	in := cifartest.WriteTable(t, testImages(6))
	var out bytes.Buffer
	if err := run([]string{in, "--seed", "3", "--views", "2", "--batch", "3"}, &out); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "views.arrows")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	batches, _ := readViews(t, bytes.NewReader(out.Bytes()))
	var labels, views []int
	for _, b := range batches {
		for r := range b.label {
			labels, views = append(labels, int(b.label[r])), append(views, int(b.view[r]))
		}
	}
	first := make([]int, 8)
	for i := range first {
		first[i] = int(batches[0].pixels[i])
	}
	t.Log(arrowiotest.PolarsTable(t, path, map[string]any{
		"columns": [][2]string{{"index", "Int32"}, {"label", "UInt8"}, {"image", "FixedSizeList(UInt8,3072)"}, {"view", "Int32"}, {"epoch", "Int32"}},
		"rows":    12,
		"labels":  labels,
		"ints":    map[string]any{"view": views},
		"list":    "image",
		"first":   first,
	}))
}

func TestDeterminism(t *testing.T) {
	in := cifartest.WriteTable(t, testImages(7))
	stream := func(args ...string) []byte {
		var out bytes.Buffer
		if err := run(append([]string{in, "--seed", "3", "--views", "3", "--batch", "3"}, args...), &out); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	ref := stream("--workers", "1")
	if !bytes.Equal(stream("--workers", "5"), ref) {
		t.Error("output depends on --workers")
	}
	if bytes.Equal(stream("--seed", "4"), ref) {
		t.Error("output does not depend on --seed")
	}
	// A file holds the same batches as the stream.
	path := filepath.Join(t.TempDir(), "views.arrow")
	if err := run([]string{in, "--seed", "3", "--views", "3", "--batch", "3", "-o", path}, io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromFile, _ := readViews(t, f)
	fromStream, _ := readViews(t, bytes.NewReader(ref))
	if len(fromFile) != len(fromStream) {
		t.Fatalf("file has %d batches, stream %d", len(fromFile), len(fromStream))
	}
	for i := range fromFile {
		if !bytes.Equal(fromFile[i].pixels, fromStream[i].pixels) || !slices.Equal(fromFile[i].index, fromStream[i].index) {
			t.Errorf("batch %d differs between file and stream", i)
		}
	}
}

func TestPreview(t *testing.T) {
	imgs := testImages(5)
	in := cifartest.WriteTable(t, imgs)
	path := filepath.Join(t.TempDir(), "grid.png")
	var out bytes.Buffer
	if err := run([]string{in, "--preview", path, "--preview-images", "3", "--preview-views", "2", "--preview-scale", "2", "--seed", "5"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("preview also wrote %d bytes of stream", out.Len())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	grid, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Cells of 64 pixels plus gaps of 4: gap, original, gap, gap, 2 views, gap.
	if got, want := grid.Bounds().Size(), [2]int{4 + 3*68 + 4, 4 + 3*68}; got.X != want[0] || got.Y != want[1] {
		t.Fatalf("grid %v, want %v", got, want)
	}
	view := make([]uint8, augment.ImageLen)
	for i := range 3 {
		src := imgs.Pixels[i*arrowio.ImageSize : (i+1)*arrowio.ImageSize]
		augment.DefaultConfig().View(view, src, 5, 0, int(imgs.Index[i]), 1)
		for _, cell := range []struct {
			x   int
			img []uint8
		}{{4, src}, {8 + 2*68, view}} {
			for _, p := range []int{0, 33, 1023} { // pixel p covers a 2x2 square
				x, y := cell.x+2*(p%32)+1, 4+i*68+2*(p/32)+1
				r, g, b, _ := grid.At(x, y).RGBA()
				if got := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}; got != [3]uint8{cell.img[p], cell.img[1024+p], cell.img[2048+p]} {
					t.Errorf("image %d cell at x=%d pixel %d: %v", i, cell.x, p, got)
				}
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	mem := memory.DefaultAllocator
	ints := array.NewInt64Builder(mem)
	ints.AppendValues([]int64{1, 2}, nil)
	otherSchema := arrowiotest.Stream(t, array.NewRecord(
		arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{ints.NewArray()}, 2))

	// Same columns, but 3x16x16 images.
	small := arrow.FixedSizeListOf(768, arrow.PrimitiveTypes.Uint8)
	smallSchema := arrow.NewSchema([]arrow.Field{
		{Name: "index", Type: arrow.PrimitiveTypes.Int32},
		{Name: "label", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "image", Type: small, Metadata: arrow.NewMetadata(
			[]string{arrowio.ExtensionNameKey, arrowio.ExtensionMetadataKey},
			[]string{arrowio.TensorExtensionName, `{"shape":[3,16,16]}`})},
	}, nil)
	rb := array.NewRecordBuilder(mem, smallSchema)
	rb.Field(0).(*array.Int32Builder).Append(0)
	rb.Field(1).(*array.Uint8Builder).Append(0)
	rb.Field(2).(*array.FixedSizeListBuilder).Append(true)
	rb.Field(2).(*array.FixedSizeListBuilder).ValueBuilder().(*array.Uint8Builder).AppendValues(make([]uint8, 768), nil)
	wrongShape := arrowiotest.Stream(t, rb.NewRecord())

	var full bytes.Buffer
	w, err := arrowio.NewImageWriter(&full, "test", arrowio.ImageSchema(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(testImages(3)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var views bytes.Buffer
	if err := run([]string{cifartest.WriteTable(t, testImages(2))}, &views); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	for _, tc := range []struct {
		name, want string
		input      []byte
	}{
		{"empty", "empty input", nil},
		{"not arrow", "not an Arrow IPC", []byte("P6 32 32 255 and some pixels")},
		{"other schema", `want exactly one column "index"`, otherSchema},
		{"other shape", "column \"image\"", wrongShape},
		{"truncated", "truncated", full.Bytes()[:full.Len()-4000]},
		{"views", `already has a "view" column`, views.Bytes()},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
		if err := os.WriteFile(path, tc.input, 0o644); err != nil {
			t.Fatal(err)
		}
		err := run([]string{path}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// Without --batch, augment writes the batches pretrain takes by default.
func TestDefaultBatchIsPretrains(t *testing.T) {
	c, err := parse(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := train.DefaultConfig().Batch; c.Batch != want {
		t.Errorf("--batch defaults to %d, pretrain's to %d", c.Batch, want)
	}
}

func TestBadFlags(t *testing.T) {
	in := cifartest.WriteTable(t, testImages(1))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--views", "0"}, "--views 0"},
		{[]string{"--batch=0"}, "--batch 0"},
		{[]string{"--hue", "0.7"}, "hue strength"},
		{[]string{"--gray-p", "2"}, "grayscale probability"},
		{[]string{"--workers", "-2"}, "--workers"},
		{[]string{"--views", "1000"}, "--views 1000: want 1 to 64"},
		{[]string{"--epochs", "0"}, "--epochs 0: want 1 to 100000"},
		{[]string{"--epochs=-1"}, "--epochs -1"},
		{[]string{"--batch", "100000000"}, "--batch 100000000"},
		{[]string{"--workers", "100000"}, "--workers 100000"},
		{[]string{"--preview-images", "0"}, "--preview-images 0"},
		{[]string{"--preview-views=-1"}, "--preview-views -1"},
		{[]string{"--preview-scale", "1000"}, "--preview-scale 1000: want 1 to 32"},
		{[]string{"--crop-scale-max", "2"}, "crop scale range"},
		{[]string{"--brightness", "Inf"}, "jitter strengths"},
		{[]string{"--blur-sigma-max", "NaN"}, "blur sigma"},
		{[]string{"--frobnicate"}, "unknown flag"},
	} {
		err := run(append([]string{in}, tc.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

// TestClosedPipe runs the command with its standard output piped to a
// reader that stops early: it must end quietly with status 0.
func TestClosedPipe(t *testing.T) {
	in := cifartest.WriteTable(t, testImages(64))
	cmd := exec.Command(os.Args[0], in, "--epochs", "1000", "--batch", "16")
	cmd.Env = append(os.Environ(), "AUGMENT_RUN_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(stdout, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	stdout.Close()
	if err := cmd.Wait(); err != nil || stderr.Len() > 0 {
		t.Errorf("after the reader closed the pipe: %v, stderr %q", err, stderr.String())
	}
}

// The temporaries a killed run left beside the output file and the preview
// are removed at start.
func TestRemovesStaleTemporaries(t *testing.T) {
	in, dir := cifartest.WriteTable(t, testImages(2)), t.TempDir()
	out, preview := filepath.Join(dir, "views.arrow"), filepath.Join(dir, "p.png")
	stale := []string{filepath.Join(dir, ".views.arrow.tmp-1"), filepath.Join(dir, ".p.png.tmp-2")}
	for _, p := range stale {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run([]string{in, "--batch", "2", "-o", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{in, "--preview", preview, "--preview-images", "2", "--preview-views", "1"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
}
