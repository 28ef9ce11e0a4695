package model

import (
	"math/rand/v2"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/loss"
	"github.com/simclr-go/simclr/pkg/nn"
)

// BenchmarkSimCLRStep times one forward and backward of encoder, head and
// NT-Xent over 512 views (256 images), the reference recipe's step without
// the optimizer update.
func BenchmarkSimCLRStep(b *testing.B) {
	for _, bench := range precisions(Stems...) {
		stem := bench.stem
		b.Run(bench.name, func(b *testing.B) {
			const views = 512
			enc, err := NewEncoder(stem, views, kern.Default().WithPrecision(bench.prec))
			if err != nil {
				b.Fatal(err)
			}
			head := NewHead(FeatureDim, 512, 512, views, kern.Default())
			r := rand.New(rand.NewPCG(1, 2))
			enc.Init(r)
			head.Init(r)
			x := make([]float32, views*ImageSize*ImageSize*3)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			nt := loss.NewNTXent(0.5, views, 512, kern.Default())
			dz := make([]float32, views*512)
			params := append(enc.Params(), head.Params()...)
			step := func() {
				nn.ZeroGrads(params)
				z := head.Forward(enc.Forward(x, views), views)
				nt.Forward(z, views)
				nt.Backward(dz, views, 1)
				enc.Backward(head.Backward(dz, views), views)
			}
			step() // scratch grows on first use; the benchmark shows the steady state
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step()
			}
			b.ReportMetric(float64(views*b.N)/b.Elapsed().Seconds(), "views/s")
		})
	}
}

// BenchmarkExtract times the eval-mode forward of the encoder over 512
// images, as extract runs it.
func BenchmarkExtract(b *testing.B) {
	for _, bench := range precisions(Stems...) {
		stem := bench.stem
		b.Run(bench.name, func(b *testing.B) {
			const n = 512
			enc, err := NewEncoder(stem, n, kern.Default().WithPrecision(bench.prec))
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			enc.Init(r)
			enc.SetTrain(false)
			x := make([]float32, n*ImageSize*ImageSize*3)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			enc.Forward(x, n) // scratch grows on first use
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				enc.Forward(x, n)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// benchCase is a stem in float32 or in bf16 mode.
type benchCase struct {
	name, stem string
	prec       kern.Precision
}

// precisions lists each stem in float32 and in bf16 ("imagenet",
// "imagenet-bf16", ...).
func precisions(stems ...string) []benchCase {
	var out []benchCase
	for _, s := range stems {
		out = append(out, benchCase{s, s, kern.FP32}, benchCase{s + "-bf16", s, kern.BF16})
	}
	return out
}
