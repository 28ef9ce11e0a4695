package kern

import "golang.org/x/sys/cpu"

// kernelCM and kernelRM are kernelGeneric in AVX-512 assembly for the two
// shapes of A it meets: a k step's mr values contiguous (packed panels,
// transposed A) or each row contiguous (row-major A read in place).
//
//go:noescape
func kernelCM(kc int, a *float32, astep int, b *float32, bstep int, c *float32, ldc int, add bool)

//go:noescape
func kernelRM(kc int, a *float32, lda int, b *float32, bstep int, c *float32, ldc int, add bool)

func kernelAVX512(kc int, a []float32, ar, ap int, b []float32, bp int, c []float32, ldc int, add bool) {
	if kc == 0 {
		kernelGeneric(kc, a, ar, ap, b, bp, c, ldc, add)
		return
	}
	_ = a[(mr-1)*ar+(kc-1)*ap]
	_ = b[(kc-1)*bp+nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	switch {
	case ar == 1:
		kernelCM(kc, &a[0], ap, &b[0], bp, &c[0], ldc, add)
	case ap == 1:
		kernelRM(kc, &a[0], ar, &b[0], bp, &c[0], ldc, add)
	default:
		kernelGeneric(kc, a, ar, ap, b, bp, c, ldc, add)
	}
}

func init() {
	if cpu.X86.HasAVX512F {
		microKernel, kernelName = kernelAVX512, "avx512"
	}
}
