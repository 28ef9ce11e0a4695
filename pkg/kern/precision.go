package kern

import "fmt"

// Precision is what a layer multiplies in. Weights, gradients, batch-norm
// statistics and optimizer state are float32 in both.
type Precision string

const (
	FP32 Precision = "fp32"
	// BF16 rounds the inputs of a product to bfloat16 and accumulates in
	// float32.
	BF16 Precision = "bf16"
)

// Choose resolves a requested precision ("auto", "fp32" or "bf16") on
// backend b. auto is bf16 only where b's bf16 products beat float32. The
// note says what was chosen and why, or warns that an explicit bf16 is
// slower here; it is empty for an explicit fp32.
func (b *Backend) Choose(requested string) (p Precision, note string, err error) {
	why := b.bf16Speed()
	switch requested {
	case "auto", "":
		if b.FastBF16 {
			return BF16, "precision auto: bf16, " + why, nil
		}
		return FP32, "precision auto: fp32, " + why, nil
	case string(FP32):
		return FP32, "", nil
	case string(BF16):
		if b.FastBF16 {
			return BF16, "", nil
		}
		return BF16, "warning: bf16 runs slower than fp32 here: " + why + "; running it as asked", nil
	}
	return "", "", fmt.Errorf("unknown precision %q (want auto, fp32 or bf16)", requested)
}

// bf16Speed says how b's bf16 products compare with its float32 ones.
func (b *Backend) bf16Speed() string {
	switch {
	case b.FastBF16:
		return "the " + b.Name + " backend's VDPBF16PS does twice the multiply-adds of an FMA on this CPU"
	case b.NativeBF16:
		return "the " + b.Name + " backend's VDPBF16PS runs at half the FMA rate on this CPU"
	}
	return "the " + b.Name + " backend has no bf16 instructions, so bf16 runs the portable kernel"
}
