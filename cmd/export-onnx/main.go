// Command export-onnx writes a pretrained encoder as an ONNX model, so that
// its features can be computed by any ONNX runtime (C#, Java, JavaScript,
// mobile, serving systems) without this project.
//
//	export-onnx --checkpoint simclr_epoch100.safetensors -o encoder.onnx
//	export-onnx --random-init --seed 0 --stem cifar -o random.onnx
//
// The model is the ResNet-18 encoder in eval mode, batch norms folded into
// the convolutions: input "input", float32 [N, 3, 32, 32], the images
// normalised as extract normalises them (RGB, each channel (pixel/255 -
// mean) / std with CIFAR-10's statistics); output "features", float32
// [N, 512], what extract writes; the batch N is dynamic; opset 17. The
// checkpoint's file name and SHA-256 are in the model's metadata_props.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/onnx"
	"github.com/simclr-go/simclr/pkg/train"
	"github.com/simclr-go/simclr/pkg/version"
)

const tool = "export-onnx"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
		os.Exit(1)
	}
}

type cli struct {
	Output     string `short:"o" required:"" placeholder:"FILE" help:"ONNX model to write (atomically); - for standard output."`
	Checkpoint string `placeholder:"FILE" help:"Pretraining checkpoint (safetensors) whose encoder to export."`
	RandomInit bool   `help:"Export a randomly initialised encoder instead of a checkpoint (as extract --random-init)."`
	Seed       uint64 `default:"0" help:"Seed of --random-init; the same seed as pretrain gives pretrain's initial encoder."`
	Stem       string `default:"imagenet" enum:"${stems}" help:"Stem of --random-init, or of a checkpoint that does not say."`
}

func run(args []string) error {
	var c cli
	p, err := kong.New(&c, kong.Name(tool),
		kong.Description("Write the encoder as an ONNX model: float32 [N,3,32,32] normalised images in, [N,512] features out, batch norms folded, opset 17."),
		kong.Vars{"stems": strings.Join(model.Stems, ",")})
	if err != nil {
		return err
	}
	if _, err := p.Parse(args); err != nil {
		return err
	}
	if (c.Checkpoint == "") == !c.RandomInit {
		return fmt.Errorf("give exactly one of --checkpoint FILE and --random-init")
	}
	enc, src, meta, err := encoder(&c)
	if err != nil {
		return err
	}
	mean, std := augment.CIFAR10Mean, augment.CIFAR10Std
	if src.Config != nil {
		mean, std = src.Config.Normalization()
	}
	m, err := onnx.Encoder(enc, mean, std, tool, version.Version, meta)
	if err != nil {
		return err
	}
	if err := m.WriteFile(c.Output); err != nil {
		return err
	}
	if c.Output != "-" {
		fmt.Fprintf(os.Stderr, "%s: wrote %s (stem %s, %d parameters, opset %d)\n",
			tool, c.Output, enc.Stem, m.Graph.Parameters(), onnx.Opset)
	}
	return nil
}

// encoder builds the encoder to export, in eval mode, and says where it
// came from, also as metadata (a feature table's keys).
func encoder(c *cli) (*model.Encoder, train.Source, map[string]string, error) {
	checkpoint := c.Checkpoint
	if c.RandomInit {
		checkpoint = ""
	}
	enc, src, err := train.OpenEncoder(kern.Default(), checkpoint, c.Stem, c.Seed, 1)
	if err != nil {
		return nil, src, nil, err
	}
	return enc, src, src.Metadata(version.Producer(tool)), nil
}
