package train

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/nn"
	"github.com/simclr-go/simclr/pkg/safetensors"
)

// FuzzViewStream decodes arbitrary bytes as augment's view stream, as
// pretrain does (open, check the metadata, check each full batch's
// view-major layout): an error, never a panic or a hang. The seeds are a
// small real stream, whole and cut.
func FuzzViewStream(f *testing.F) {
	cfg, data := tinyConfig(), synthetic(4)
	cfg.Batch, cfg.Epochs = 2, 1
	whole := viewStream(f, cfg, data).Bytes()
	f.Add(whole)
	f.Add(whole[:len(whole)*3/4])
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := arrowio.NewImageReader(bytes.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		defer r.Close()
		if !IsStream(r) {
			return
		}
		s, err := OpenStream(r, "fuzz")
		if err != nil {
			return
		}
		for r.Next() {
			if b := r.Batch(); b.Len() >= s.Views*s.Batch {
				checkViews(b, s.Views, s.Batch)
			}
		}
	})
}

// FuzzCheckpointMeta decodes arbitrary checkpoint metadata (the run's
// config and position) as Resume does before it builds the model: an
// error, or a config within the bounds the model can be built with. The
// seed is a real checkpoint's metadata.
func FuzzCheckpointMeta(f *testing.F) {
	ck, err := safetensors.Load(freshCheckpoint(f))
	if err != nil {
		f.Fatal(err)
	}
	m := ck.Metadata
	f.Add(m["config"], m[MetaEpoch], m["step"], m["images"], m["optimizer_steps"], m["epoch_loss_sum"], m["loss_history"], "12.5")
	f.Add(m["config"], "1", "0", "8", "2", "0", "[4.5]", "-1")
	f.Fuzz(func(t *testing.T, cfg, epoch, step, images, optSteps, lossSum, history, seconds string) {
		p, err := readPosition(map[string]string{MetaFormat: Format, "config": cfg, MetaEpoch: epoch, "step": step,
			"images": images, "optimizer_steps": optSteps, "epoch_loss_sum": lossSum, "loss_history": history, "train_seconds": seconds})
		if err != nil {
			return
		}
		c := p.cfg
		if c.Batch < 2 || c.Batch > MaxBatch || c.ProjHidden > MaxWidth || c.ProjOut > MaxWidth || c.Epochs > MaxEpochs ||
			p.epoch > c.Epochs || len(p.history) != p.epoch || p.step < 0 || p.optSteps < 0 || p.lossSum-p.lossSum != 0 {
			t.Fatalf("accepted %+v", p)
		}
	})
}

// FuzzCheckpointState resumes from a real checkpoint whose tensors, the
// model's and the optimizer's, are damaged: one value set to arbitrary
// bits, one tensor's shape changed, or one tensor dropped. Resume must
// refuse, naming the tensor, or give a trainer whose state is finite.
// Each run builds a ResNet-18: a few per second.
func FuzzCheckpointState(f *testing.F) {
	ck, err := safetensors.Load(freshCheckpoint(f))
	if err != nil {
		f.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(ck.Tensors))
	f.Add(uint16(0), uint32(0), uint32(0x7fc00000), int8(0), false) // NaN in conv1
	f.Add(uint16(len(names)-1), uint32(3), uint32(0xff800000), int8(0), false)
	f.Add(uint16(5), uint32(0), uint32(0), int8(1), false)
	f.Add(uint16(7), uint32(0), uint32(0), int8(0), true)
	data := synthetic(8)
	f.Fuzz(func(t *testing.T, which uint16, at, bits uint32, grow int8, drop bool) {
		name := names[int(which)%len(names)]
		tensors := maps.Clone(ck.Tensors)
		tn := tensors[name]
		tn.Data = slices.Clone(tn.Data)
		tn.Shape = slices.Clone(tn.Shape)
		if len(tn.Data) >= 4 {
			i := int(at) % (len(tn.Data) / 4) * 4
			binary.LittleEndian.PutUint32(tn.Data[i:], bits)
		}
		if grow != 0 && len(tn.Shape) > 0 {
			tn.Shape[0] += int(grow)
		}
		tensors[name] = tn
		if drop {
			delete(tensors, name)
		}
		tr, err := resume(kern.Default(), &safetensors.File{Tensors: tensors, Metadata: ck.Metadata}, data, nil, nil)
		if err != nil {
			return
		}
		defer tr.Close()
		if err := finite(tr.state()); err != nil {
			t.Fatalf("resumed with %v", err)
		}
	})
}

// A checkpoint with a NaN in its optimizer state is refused, naming the
// file and the tensor; one with a position past its run, naming that.
func TestResumeRefusesBadValues(t *testing.T) {
	path := freshCheckpoint(t)
	ck, err := safetensors.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	v := ck.Tensors["optim.exp_avg_sq.conv1.weight"]
	binary.LittleEndian.PutUint32(v.Data[8:], 0x7fc00000)
	var tensors []safetensors.Tensor
	for _, tn := range ck.Tensors {
		tensors = append(tensors, tn)
	}
	if err := safetensors.Save(path, tensors, ck.Metadata); err != nil {
		t.Fatal(err)
	}
	_, err = Resume(kern.Default(), path, synthetic(8), nil)
	if want := "resume from " + path + ": tensor optim.exp_avg_sq.conv1.weight: value 2 is NaN"; err == nil || err.Error() != want {
		t.Errorf("NaN: error %v, want %q", err, want)
	}
	ck.Metadata[MetaEpoch] = "3"
	if err := safetensors.Save(path, tensors, ck.Metadata); err != nil {
		t.Fatal(err)
	}
	_, err = Resume(kern.Default(), path, synthetic(8), nil)
	if want := "metadata: epoch 3 of a run of 2"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("position: error %v, want %q", err, want)
	}
}

// finite reports the first NaN or infinite value in the weights, buffers
// and optimizer state: training from it could only give a non-finite loss.
func finite(s model.State) error {
	check := func(t *nn.Tensor) error {
		for i, v := range t.Data {
			if v-v != 0 { // NaN or ±Inf
				return fmt.Errorf("tensor %s: value %d is %v", t.Name, i, v)
			}
		}
		return nil
	}
	for _, p := range s.Params {
		if err := check(&p.Tensor); err != nil {
			return err
		}
	}
	for _, b := range s.Buffers {
		if err := check(b); err != nil {
			return err
		}
	}
	return nil
}
