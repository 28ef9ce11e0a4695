package train

import (
	"bytes"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/kern"
)

// viewStream writes what `augment --seed S --batch B --epochs E` writes for
// data: each epoch in augment.Order(seed, epoch), B images a record batch,
// view-major, with the metadata pretrain reads.
func viewStream(t testing.TB, cfg Config, data Dataset) *bytes.Buffer {
	t.Helper()
	meta := map[string]string{"images": strconv.Itoa(data.Len()), "views": "2",
		"batch": strconv.Itoa(cfg.Batch), "layout": "view-major"}
	var buf bytes.Buffer
	w, err := arrowio.NewIPCWriter(&buf, "views", arrowio.ImageSchema(meta, "view", "epoch"), arrowio.WriteOptions{AsGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	b, rows := cfg.Batch, 2*cfg.Batch
	src, pix := make([]uint8, b*augment.ImageLen), make([]uint8, rows*augment.ImageLen)
	idx := make([]int, b)
	for epoch := range cfg.Epochs {
		perm := augment.Order(cfg.Seed, epoch, data.Len())
		for step := 0; (step+1)*b <= data.Len(); step++ {
			index, label, view, ep := make([]int32, rows), make([]uint8, rows), make([]int32, rows), make([]int32, rows)
			for i, p := range perm[step*b : (step+1)*b] {
				copy(src[i*augment.ImageLen:], data.Pixels[p*augment.ImageLen:(p+1)*augment.ImageLen])
				idx[i] = int(data.Index[p])
				for v := range 2 {
					index[v*b+i], label[v*b+i], view[v*b+i], ep[v*b+i] = data.Index[p], data.Label[p], int32(v), int32(epoch)
				}
			}
			cfg.Augment.Batch(pix, src, cfg.Seed, epoch, idx, 2, 1)
			if err := w.Write(rows, arrow.Int32Traits.CastToBytes(index), label, pix,
				arrow.Int32Traits.CastToBytes(view), arrow.Int32Traits.CastToBytes(ep)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// Training from augment's view stream is training in-process, bit for bit:
// both draw the same order and the same views.
func TestStreamEqualsInProcess(t *testing.T) {
	cfg, data := tinyConfig(), synthetic(9)
	inProcess, err := New(kern.Default(), cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer inProcess.Close()
	run(t, inProcess, 4)

	r, err := arrowio.NewImageReader(viewStream(t, cfg, data), "views")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStream(r, "views")
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := NewFromStream(kern.Default(), cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	defer streamed.Close()
	run(t, streamed, 4)
	if _, err := streamed.TrainStep(); err == nil {
		t.Error("a fifth step after the run ended did not fail")
	}
	a, b := inProcess.state().Tensors(), streamed.state().Tensors()
	for i := range a {
		if !slices.Equal(a[i].Data, b[i].Data) {
			t.Fatalf("tensor %s differs between the stream and in-process runs", a[i].Name)
		}
	}
}

func TestStreamRejectsOtherBatch(t *testing.T) {
	cfg, data := tinyConfig(), synthetic(9)
	r, err := arrowio.NewImageReader(viewStream(t, cfg, data), "views")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStream(r, "views")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Batch = 2
	if _, err := NewFromStream(kern.Default(), cfg, s); err == nil {
		t.Fatal("no error for a stream of batch 4 fed to batch 2")
	}
}
