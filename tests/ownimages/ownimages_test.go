// Package ownimages tests the stages on a user's own images: a folder of
// PNGs in class subfolders goes through image-folder, pretrain, extract and
// linprobe, which reports the folder's classes.
package ownimages

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/imagefolder/foldertest"
	"github.com/simclr-go/simclr/tests/toolbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	toolbin.Clean()
	os.Exit(code)
}

func TestFolderThroughTheStages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tools and trains a little")
	}
	dir, work := filepath.Join(t.TempDir(), "shapes"), t.TempDir()
	// 3 classes of 100 PNGs each, 24×20 pixels: the tool resizes them up.
	foldertest.Write(t, dir, []string{"cow", "ant", "bee"}, 100, 24, 20)
	images := filepath.Join(work, "images.arrow")
	toolbin.Run(t, "image-folder", dir, "-o", images)

	ckpt := filepath.Join(work, "pretrain", "simclr_epoch000_step00002.safetensors")
	toolbin.Run(t, "pretrain", images, "--out-dir", filepath.Join(work, "pretrain"), "--batch", "8", "--epochs", "1",
		"--warmup-epochs", "0", "--proj-hidden", "16", "--proj-out", "8", "--max-steps", "2")
	feats := filepath.Join(work, "features.arrow")
	toolbin.Run(t, "extract", images, "--checkpoint", ckpt, "-o", feats)
	report := filepath.Join(work, "linprobe.json")
	toolbin.Run(t, "linprobe", "--train", feats, "--test", feats, "--epochs", "20", "--knn", "5", "--report", report)

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
	dir, work := t.TempDir(), t.TempDir()
	foldertest.Write(t, dir, nil, 16, 32, 32)
	images := filepath.Join(work, "images.arrow")
	toolbin.Run(t, "image-folder", dir, "-o", images)
	toolbin.Run(t, "pretrain", images, "--out-dir", filepath.Join(work, "pretrain"), "--batch", "8", "--epochs", "1",
		"--warmup-epochs", "0", "--proj-hidden", "16", "--proj-out", "8", "--max-steps", "1")
	feats := filepath.Join(work, "features.arrow")
	toolbin.Run(t, "extract", images, "--checkpoint", filepath.Join(work, "pretrain", "simclr_epoch000_step00001.safetensors"), "-o", feats)
	out, err := exec.Command(filepath.Join(toolbin.Build(t), "linprobe"), "--train", feats, "--test", feats).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "features of unlabelled images") {
		t.Errorf("linprobe on unlabelled features: %v\n%s", err, out)
	}
}
