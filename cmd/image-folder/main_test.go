package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/pkg/imagefolder/foldertest"
)

// readTable reads the table at path, and its schema through a reader.
func readTable(t *testing.T, path string) (arrowio.ImageBatch, *arrowio.ImageReader) {
	t.Helper()
	b, _ := cifartest.ReadTable(t, path)
	r, err := arrowio.OpenImages(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return b, r
}

func TestLabelledFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "photos")
	foldertest.Write(t, dir, []string{"zebra", "ant", "moth"}, 4, 48, 40)
	out := filepath.Join(t.TempDir(), "photos.arrow")
	if err := run([]string{dir, "-o", out, "--split", "test", "-q"}); err != nil {
		t.Fatal(err)
	}
	b, r := readTable(t, out)
	if got := r.ClassNames(); !slices.Equal(got, []string{"ant", "moth", "zebra"}) {
		t.Errorf("class names %v", got)
	}
	if !r.Labelled() || b.Len() != 12 || !slices.Equal(b.Label[:5], []uint8{0, 0, 0, 0, 1}) {
		t.Errorf("labelled %v, %d rows, labels %v", r.Labelled(), b.Len(), b.Label)
	}
	if b.Path[0] != "ant/imgaa.png" || b.Path[11] != "zebra/imgad.png" || b.Index[11] != 11 {
		t.Errorf("paths %v, index %v", b.Path, b.Index)
	}
	md := r.Metadata()
	var stats arrowio.ChannelStats
	stats.Add(b.Pixels)
	want := map[string]string{}
	stats.SetMeta(want)
	if md["channel_mean"] != want["channel_mean"] || md["channel_std"] != want["channel_std"] {
		t.Errorf("channel statistics %s %s, computed from the rows %s %s", md["channel_mean"], md["channel_std"], want["channel_mean"], want["channel_std"])
	}
	if md["split"] != "test" || md["source"] != dir || len(md["source_sha256"]) != 64 || !strings.HasPrefix(md["producer"], "image-folder ") {
		t.Errorf("metadata %v", md)
	}
	// ant is class 0 of the sorted list but was made as class 1: green.
	if img := b.Image(0); img[1024] < 150 || img[0] != 30 || img[2048] != 30 {
		t.Errorf("row 0 pixels R %d G %d B %d", img[0], img[1024], img[2048])
	}
	t.Log(arrowiotest.PolarsTable(t, out, map[string]any{
		"columns":         [][2]string{{"index", "Int32"}, {"label", "UInt8"}, {"image", "FixedSizeList(UInt8,3072)"}, {"path", "String"}},
		"rows":            12,
		"sequentialIndex": true,
		"labels":          []int{0, 0, 0, 0, 1, 1, 1, 1, 2},
		"list":            "image",
		"first":           []int{int(b.Pixels[0]), int(b.Pixels[1])},
	}))

	// The same folder again gives the same bytes.
	again := filepath.Join(t.TempDir(), "again.arrow")
	if err := run([]string{dir, "-o", again, "--split", "test", "-q"}); err != nil {
		t.Fatal(err)
	}
	if b1, b2 := mustRead(t, out), mustRead(t, again); !bytes.Equal(b1, b2) {
		t.Error("two conversions of one folder differ")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestFlatFolder(t *testing.T) {
	dir := t.TempDir()
	foldertest.Write(t, dir, nil, 3, 32, 32)
	out := filepath.Join(t.TempDir(), "flat.arrow")
	if err := run([]string{dir, "-o", out, "-q", "--tensor-extension"}); err != nil {
		t.Fatal(err)
	}
	b, r := readTable(t, out)
	if r.Labelled() || !slices.Equal(r.ClassNames(), []string{"unlabelled"}) || b.Len() != 3 || !slices.Equal(b.Path, []string{"imgaa.png", "imgab.png", "imgac.png"}) {
		t.Errorf("labelled %v, classes %v, %d rows, paths %v", r.Labelled(), r.ClassNames(), b.Len(), b.Path)
	}
	if !arrowio.IsTensorSchema(r.Schema()) {
		t.Error("--tensor-extension: image column not marked")
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	foldertest.Write(t, dir, []string{"a", "b"}, 2, 32, 32)
	bad := filepath.Join(dir, "b", "broken.png")
	if err := os.WriteFile(bad, []byte("\x89PNG not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	out := filepath.Join(outDir, "t.arrow")
	err := run([]string{dir, "-o", out, "-q"})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "--skip-bad") {
		t.Errorf("err = %v, want one naming %s", err, bad)
	}
	if des, _ := os.ReadDir(outDir); len(des) != 0 {
		t.Errorf("output directory holds %v after a failure", des)
	}
	if err := run([]string{dir, "-o", out, "-q", "--skip-bad"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := readTable(t, out); b.Len() != 4 || slices.Contains(b.Path, "b/broken.png") {
		t.Errorf("%d rows, paths %v", b.Len(), b.Path)
	}
}
