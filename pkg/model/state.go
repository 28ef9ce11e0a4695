package model

import (
	"fmt"
	"slices"

	"github.com/simclr-go/simclr/pkg/nn"
	"github.com/simclr-go/simclr/pkg/safetensors"
)

// State is the named tensors of a module, as a checkpoint stores them.
type State struct {
	Params   []*nn.Param
	Buffers  []*nn.Tensor
	Counters []*nn.Counter
}

// EncoderState and HeadState gather the tensors of each part.
func (e *Encoder) State() State { return State{e.Params(), e.Buffers(), e.Counters()} }
func (h *Head) State() State    { return State{h.Params(), h.Buffers(), h.Counters()} }

// Join concatenates states.
func Join(states ...State) State {
	var s State
	for _, t := range states {
		s.Params = append(s.Params, t.Params...)
		s.Buffers = append(s.Buffers, t.Buffers...)
		s.Counters = append(s.Counters, t.Counters...)
	}
	return s
}

// torchShape is the shape PyTorch gives a tensor: convolution weights,
// stored OHWI here, are OIHW there.
func torchShape(t *nn.Tensor) []int {
	if len(t.Shape) == 4 {
		o, k, i := t.Shape[0], t.Shape[1], t.Shape[3]
		return []int{o, i, k, k}
	}
	return t.Shape
}

// Tensors encodes the state in torchvision's names and layouts, so that
// resnet18().load_state_dict(..., strict=False) accepts the encoder part.
func (s State) Tensors() []safetensors.Tensor {
	var out []safetensors.Tensor
	add := func(t *nn.Tensor) {
		data := t.Data
		if len(t.Shape) == 4 {
			data = make([]float32, len(t.Data))
			nn.WeightToOIHW(data, t.Data, t.Shape[0], t.Shape[3], t.Shape[1])
		}
		out = append(out, safetensors.F32(t.Name, torchShape(t), data))
	}
	for _, p := range s.Params {
		add(&p.Tensor)
	}
	for _, b := range s.Buffers {
		add(b)
	}
	for _, c := range s.Counters {
		out = append(out, safetensors.I64(c.Name, c.N))
	}
	return out
}

// Load fills the state from f, which must hold every tensor with the same
// shape; extra tensors in f are ignored. Errors name the tensor and what
// differs, so a checkpoint of another architecture is told apart clearly.
func (s State) Load(f *safetensors.File) error {
	get := func(name string, shape []int) (safetensors.Tensor, error) {
		t, ok := f.Tensors[name]
		if !ok {
			return t, fmt.Errorf("tensor %s is missing", name)
		}
		if !slices.Equal(t.Shape, shape) {
			return t, fmt.Errorf("tensor %s has shape %v, this model needs %v", name, t.Shape, shape)
		}
		return t, nil
	}
	load := func(dst *nn.Tensor) error {
		t, err := get(dst.Name, torchShape(dst))
		if err != nil {
			return err
		}
		if len(dst.Shape) != 4 {
			return t.Float32s(dst.Data)
		}
		oihw := make([]float32, len(dst.Data))
		if err := t.Float32s(oihw); err != nil {
			return err
		}
		nn.WeightFromOIHW(dst.Data, oihw, dst.Shape[0], dst.Shape[3], dst.Shape[1])
		return nil
	}
	for _, p := range s.Params {
		if err := load(&p.Tensor); err != nil {
			return err
		}
	}
	for _, b := range s.Buffers {
		if err := load(b); err != nil {
			return err
		}
	}
	for _, c := range s.Counters {
		t, err := get(c.Name, []int{})
		if err != nil {
			return err
		}
		if c.N, err = t.Int64(); err != nil {
			return err
		}
	}
	return nil
}
