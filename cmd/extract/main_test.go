package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/features"
)

// writeImages writes n small synthetic images as an image table and returns
// its path.
func writeImages(t *testing.T, n int) string {
	t.Helper()
	b := arrowio.ImageBatch{Index: make([]int32, n), Label: make([]uint8, n), Pixels: make([]uint8, n*arrowio.ImageSize)}
	for i := range n {
		b.Index[i], b.Label[i] = int32(10+i), uint8(i%10)
		for j := range arrowio.ImageSize {
			b.Pixels[i*arrowio.ImageSize+j] = uint8(j*(i+1) + j/1024*70)
		}
	}
	path := filepath.Join(t.TempDir(), "images.arrow")
	w, err := arrowio.CreateImages(path, arrowio.ImageSchema(map[string]string{arrowio.MetaSplit: "test"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLimit(t *testing.T) {
	in := writeImages(t, 6)
	dir := t.TempDir()
	extractTo := func(name string, args ...string) *features.Table {
		t.Helper()
		out := filepath.Join(dir, name)
		if err := run(append([]string{"--random-init", "--threads", "1", in, "-o", out}, args...)); err != nil {
			t.Fatalf("extract %v: %v", args, err)
		}
		tab, err := features.ReadAll(out)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	all := extractTo("all.arrow")
	if all.Len() != 6 || all.Metadata[features.MetaSplit] != "test" {
		t.Fatalf("no limit: %d rows, metadata %v; want 6 rows of split test", all.Len(), all.Metadata)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		rows  int
		index []int32
	}{
		{"within a forward batch", []string{"--limit", "2"}, 2, []int32{10, 11}},
		{"across forward batches", []string{"--limit", "5", "--batch", "2"}, 5, []int32{10, 11, 12, 13, 14}},
		{"more than the table", []string{"--limit", "10"}, 6, []int32{10, 11, 12, 13, 14, 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := extractTo(strings.ReplaceAll(tc.name, " ", "_")+".arrow", tc.args...)
			if got.Len() != tc.rows || !slices.Equal(got.Index, tc.index) {
				t.Fatalf("%d rows, index %v; want %d rows, index %v", got.Len(), got.Index, tc.rows, tc.index)
			}
			// The same encoder in eval mode: a row's features do not depend
			// on the rows around it.
			if !slices.Equal(got.Features, all.Features[:tc.rows*all.Dim]) {
				t.Errorf("features differ from the first %d rows of the whole table's", tc.rows)
			}
		})
	}
}

func TestLimitNegative(t *testing.T) {
	in := writeImages(t, 1)
	err := run([]string{"--random-init", in, "-o", filepath.Join(t.TempDir(), "f.arrow"), "--limit=-1"})
	if err == nil || !strings.Contains(err.Error(), "--limit -1") {
		t.Errorf("error %v, want one about --limit -1", err)
	}
}
