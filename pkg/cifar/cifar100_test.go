package cifar_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
)

func TestArchive100(t *testing.T) {
	a, err := cifar.ReadArchive100(bytes.NewReader(cifartest.Archive100(7, 3)), "c100.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Fine, cifartest.FineNames()) || !slices.Equal(a.Coarse, cifartest.CoarseNames()) {
		t.Fatalf("names %v / %v", a.Fine, a.Coarse)
	}
	var rows []int
	if err := a.Decode100(cifar.Train, func(b arrowio.ImageBatch) error {
		for i := range b.Len() {
			fine, coarse := cifartest.Label100(int(b.Index[i]))
			if b.Label[i] != fine || b.Extra[cifar.ColCoarseLabel][i] != int32(coarse) || b.Image(i)[3071] != cifartest.Pixel(int(b.Index[i]), 3071) {
				t.Errorf("row %d differs from the archive", b.Index[i])
			}
			rows = append(rows, int(b.Index[i]))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows, []int{0, 1, 2, 3, 4, 5, 6}) {
		t.Errorf("rows %v", rows)
	}

	// A fine label of 100 is refused when decoded.
	recs := a.Records[cifar.Test]
	recs[cifar.Record100Size+1] = 100
	err = a.Decode100(cifar.Test, func(arrowio.ImageBatch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "test.bin: record 1: fine label 100, coarse label 1") {
		t.Errorf("fine label 100: err = %v", err)
	}
	if _, err := cifar.ReadArchive100(bytes.NewReader(cifartest.Archive(cifartest.Members(2)...)), "c10.tar.gz"); err == nil || !strings.Contains(err.Error(), "missing member") {
		t.Errorf("a CIFAR-10 archive: err = %v", err)
	}
	if _, err := cifar.ReadArchive100(bytes.NewReader([]byte("plain text")), "x"); err == nil || !strings.Contains(err.Error(), "not a gzip file") {
		t.Errorf("not gzip: err = %v", err)
	}
}
