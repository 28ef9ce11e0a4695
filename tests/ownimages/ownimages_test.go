// Package ownimages tests the stages on a user's own images: a folder of
// PNGs in class subfolders goes through image-folder, pretrain, extract and
// linprobe, which reports the folder's classes.
package ownimages

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/imagefolder/foldertest"
)

// bin holds the tools, built once for the package's tests.
var (
	bin      string
	buildErr error
	once     sync.Once
)

// tools builds the commands the tests run, once, into a temporary directory
// that TestMain removes.
func tools(t *testing.T) string {
	t.Helper()
	once.Do(func() {
		// go test caches a passing result by the files the test itself
		// opens; reading the sources the tools are built from makes a
		// change to them run the test again.
		root := arrowiotest.ModuleRoot(t)
		for _, dir := range []string{"cmd", "pkg"} {
			filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
					os.ReadFile(path)
				}
				return nil
			})
		}
		if bin, buildErr = os.MkdirTemp("", "ownimages-bin"); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./cmd/image-folder", "./cmd/pretrain", "./cmd/extract", "./cmd/linprobe")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin != "" {
		os.RemoveAll(bin)
	}
	os.Exit(code)
}

func runTool(t *testing.T, bin, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	t.Logf("%s: %s", name, out)
}

func TestFolderThroughTheStages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tools and trains a little")
	}
	bin := tools(t)
	dir, work := filepath.Join(t.TempDir(), "shapes"), t.TempDir()
	// 3 classes of 100 PNGs each, 24×20 pixels: the tool resizes them up.
	foldertest.Write(t, dir, []string{"cow", "ant", "bee"}, 100, 24, 20)
	images := filepath.Join(work, "images.arrow")
	runTool(t, bin, "image-folder", dir, "-o", images)

	ckpt := filepath.Join(work, "pretrain", "simclr_epoch000_step00002.safetensors")
	runTool(t, bin, "pretrain", images, "--out-dir", filepath.Join(work, "pretrain"), "--batch", "8", "--epochs", "1",
		"--warmup-epochs", "0", "--proj-hidden", "16", "--proj-out", "8", "--max-steps", "2")
	feats := filepath.Join(work, "features.arrow")
	runTool(t, bin, "extract", images, "--checkpoint", ckpt, "-o", feats)
	report := filepath.Join(work, "linprobe.json")
	runTool(t, bin, "linprobe", "--train", feats, "--test", feats, "--epochs", "20", "--knn", "5", "--report", report)

	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		ClassNames []string `json:"class_names"`
		Probe      struct {
			Top1      float64                 `json:"top1"`
			Confusion [][]int                 `json:"confusion"`
			PerClass  []struct{ Name string } `json:"per_class"`
		} `json:"probe"`
		KNN struct {
			Confusion [][]int `json:"confusion"`
		} `json:"knn"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if want := []string{"ant", "bee", "cow"}; !slices.Equal(rep.ClassNames, want) {
		t.Errorf("class names %v, want %v", rep.ClassNames, want)
	}
	if len(rep.Probe.Confusion) != 3 || len(rep.Probe.Confusion[0]) != 3 || len(rep.KNN.Confusion) != 3 || len(rep.Probe.PerClass) != 3 || rep.Probe.PerClass[2].Name != "cow" {
		t.Errorf("probe confusion %v, kNN confusion %v, per class %v: want 3 classes", rep.Probe.Confusion, rep.KNN.Confusion, rep.Probe.PerClass)
	}
	total := 0
	for _, row := range rep.Probe.Confusion {
		for _, n := range row {
			total += n
		}
	}
	if total != 300 {
		t.Errorf("confusion counts %d rows, want 300", total)
	}
	// The classes differ in colour, which even a barely trained encoder sees.
	if rep.Probe.Top1 < 0.9 {
		t.Errorf("probe top-1 %.3f on colour-coded classes, want at least 0.9", rep.Probe.Top1)
	}
}

// A flat folder is unlabelled: pretraining and extraction take it, the
// probe refuses its features.
func TestUnlabelledFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tools and trains a little")
	}
	bin := tools(t)
	dir, work := t.TempDir(), t.TempDir()
	foldertest.Write(t, dir, nil, 16, 32, 32)
	images := filepath.Join(work, "images.arrow")
	runTool(t, bin, "image-folder", dir, "-o", images)
	runTool(t, bin, "pretrain", images, "--out-dir", filepath.Join(work, "pretrain"), "--batch", "8", "--epochs", "1",
		"--warmup-epochs", "0", "--proj-hidden", "16", "--proj-out", "8", "--max-steps", "1")
	feats := filepath.Join(work, "features.arrow")
	runTool(t, bin, "extract", images, "--checkpoint", filepath.Join(work, "pretrain", "simclr_epoch000_step00001.safetensors"), "-o", feats)
	out, err := exec.Command(filepath.Join(bin, "linprobe"), "--train", feats, "--test", feats).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "features of unlabelled images") {
		t.Errorf("linprobe on unlabelled features: %v\n%s", err, out)
	}
}
