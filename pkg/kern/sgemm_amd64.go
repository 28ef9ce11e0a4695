package kern

import "golang.org/x/sys/cpu"

// kernelCM and kernelRM are kernelGeneric in AVX-512 assembly for the two
// shapes of A it meets: a k step's mr values contiguous (packed panels,
// transposed A) or each row contiguous (row-major A read in place).
//
//go:noescape
func kernelCM(k int, a *float32, astride int, b *float32, bstep int, c *float32, ldc int, add bool)

//go:noescape
func kernelRM(k int, a *float32, astride int, b *float32, bstep int, c *float32, ldc int, add bool)

// tileKernel is an assembly micro-kernel: a tile of k steps of A and B.
type tileKernel[T float32 | uint32] func(k int, a *T, astride int, b *T, bstep int, c *float32, ldc int, add bool)

// dispatch runs the assembly kernel that reads A as laid out (a step's
// values contiguous: cm; a row's: rm), after the bounds checks the
// assembly cannot make, or the portable one for any other layout.
func dispatch[T float32 | uint32](cm, rm tileKernel[T], generic func(int, []T, int, int, []T, int, []float32, int, bool),
	k int, a []T, ar, ap int, b []T, bp int, c []float32, ldc int, add bool) {
	if k == 0 || (ar != 1 && ap != 1) {
		generic(k, a, ar, ap, b, bp, c, ldc, add)
		return
	}
	_ = a[(mr-1)*ar+(k-1)*ap]
	_ = b[(k-1)*bp+nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	if ar == 1 {
		cm(k, &a[0], ap, &b[0], bp, &c[0], ldc, add)
	} else {
		rm(k, &a[0], ar, &b[0], bp, &c[0], ldc, add)
	}
}

func kernelAVX512(k int, a []float32, ar, ap int, b []float32, bp int, c []float32, ldc int, add bool) {
	dispatch(kernelCM, kernelRM, kernelGeneric, k, a, ar, ap, b, bp, c, ldc, add)
}

//go:noescape
func scaleShiftAVX(y, x, scale, shift, res *float32, rows, c int, relu bool)

//go:noescape
func affine2AVX(y, u, v, ku, kv, e *float32, rows, c int)

//go:noescape
func channelSumsAVX(s, t, x, mean *float32, rows, c int)

//go:noescape
func channelDotsAVX(s, t, dy, x, mean *float32, rows, c int)

//go:noescape
func reluMaskAVX(dx, dy, y *float32, n int)

//go:noescape
func addToAVX(dst, src *float32, n int)

//go:noescape
func maxToAVX(dst, src *float32, n int)

//go:noescape
func routeMaxAVX(dst, x, rem, dy *float32, n int)

// useAVX512 selects the assembly bodies of the vector kernels, and
// useBF16AVX those of bf16 mode.
var (
	useAVX512  = cpu.X86.HasAVX512F
	useBF16AVX = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BF16
)

func init() {
	if useAVX512 {
		microKernel, kernelName = kernelAVX512, "avx512"
	}
	if useBF16AVX {
		microKernel16 = kernelAVX16
	}
}

func kernelAVX16(k int, a []uint32, ar, ap int, b []uint32, bp int, c []float32, ldc int, add bool) {
	dispatch(kernelCM16, kernelRM16, kernelGeneric16, k, a, ar, ap, b, bp, c, ldc, add)
}

//go:noescape
func kernelCM16(k int, a *uint32, astride int, b *uint32, bstep int, c *float32, ldc int, add bool)

//go:noescape
func kernelRM16(k int, a *uint32, astride int, b *uint32, bstep int, c *float32, ldc int, add bool)

//go:noescape
func cvtBF16AVX(dst *uint32, src *float32, n int)

//go:noescape
func interleaveBF16AVX(dst *uint32, lo, hi *float32, n int)
