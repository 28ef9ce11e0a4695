package main

import (
	"encoding/json"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
)

// checkWithArrowJS has Apache Arrow JS read the image table at path
// (tests/arrowjs/check.mjs) and compare it with what we wrote; and, unless it
// was written with --tensor-extension, nodejs-polars too.
func checkWithArrowJS(t *testing.T, path string, rows int, split string) {
	t.Helper()
	checkWithJS(t, path, rows, split, false)
}

func checkWithJS(t *testing.T, path string, rows int, split string, tensor bool) {
	t.Helper()
	b, _ := readTable(t, path)
	image0 := make([]int, 16)
	for i := range image0 {
		image0[i] = int(b.Pixels[i])
	}
	labels := make([]int, min(10, b.Len()))
	for i := range labels {
		labels[i] = int(b.Label[i])
	}
	want, _ := json.Marshal(map[string]any{"rows": rows, "split": split, "labels": labels, "image0": image0, "tensor": tensor})
	t.Logf("%s", arrowiotest.ArrowJS(t, "check.mjs", path, string(want)))
	if tensor {
		return // Polars cannot read the extension type (pola-rs/polars#9112)
	}
	t.Logf("%s", arrowiotest.PolarsTable(t, path, map[string]any{
		"columns":         [][2]string{{"index", "Int32"}, {"label", "UInt8"}, {"image", "FixedSizeList(UInt8,3072)"}},
		"rows":            rows,
		"sequentialIndex": true,
		"labels":          labels,
		"list":            "image",
		"first":           image0,
	}))
}
