package augment

import (
	"bytes"
	"slices"
	"testing"
)

func TestOrder(t *testing.T) {
	ref := Order(3, 1, 50)
	if !slices.Equal(slices.Sorted(slices.Values(ref)), identity(50)) {
		t.Fatalf("Order(3, 1, 50) = %v: not a permutation of 0..49", ref)
	}
	if !slices.Equal(Order(3, 1, 50), ref) {
		t.Error("Order is not a function of its arguments")
	}
	for _, other := range [][]int{Order(4, 1, 50), Order(3, 2, 50), identity(50)} {
		if slices.Equal(other, ref) {
			t.Errorf("%v: the same order for another seed or epoch, or none at all", other)
		}
	}
}

func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// A batch of rows of a table is Config.Batch of those images, gathered in
// row order, with their dataset indices; one Batcher serves batches of any
// size in turn.
func TestBatcher(t *testing.T) {
	imgs := Images{Index: []int32{7, 100, 3, 40000, 12}, Label: make([]uint8, 5)}
	for i := range imgs.Index {
		imgs.Pixels = append(imgs.Pixels, testImage(i)...)
	}
	b := Batcher{Config: DefaultConfig(), Seed: 9, Views: 2, Workers: 3}
	for _, rows := range [][]int{{4, 0, 2}, {1}, {3, 1, 0, 2, 4}} {
		got := make([]uint8, len(rows)*2*ImageLen)
		b.Batch(got, imgs, 5, rows)
		var src []uint8
		var idx []int
		for _, r := range rows {
			src = append(src, imgs.Pixels[r*ImageLen:(r+1)*ImageLen]...)
			idx = append(idx, int(imgs.Index[r]))
		}
		want := make([]uint8, len(got))
		DefaultConfig().Batch(want, src, 9, 5, idx, 2, 1)
		if !bytes.Equal(got, want) {
			t.Errorf("rows %v: not the views of those images", rows)
		}
	}
}
