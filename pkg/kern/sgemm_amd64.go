//go:build !purego

package kern

import "golang.org/x/sys/cpu"

// available lists the assembly backends this CPU runs, best first, then
// the portable one.
func available() []*Backend {
	var bs []*Backend
	if cpu.X86.HasAVX512F {
		b := &Backend{Name: "avx512", tileRows: mr, tileCols: nr, tile: kernelAVX512, tile16: kernelGeneric16, lanes: 16,
			scaleShift: scaleShiftAVX, affine2: affine2AVX, channelSums: channelSumsAVX, channelDots: channelDotsAVX,
			reluMask: reluMaskAVX, addTo: addToAVX, maxTo: maxToAVX, routeMax: routeMaxAVX}
		if cpu.X86.HasAVX512BF16 {
			b.NativeBF16, b.FastBF16 = true, vendorAMD()
			b.tile16, b.cvt16, b.interleave16 = kernelAVX16, cvtBF16AVX, interleaveBF16AVX
		}
		bs = append(bs, b)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		bs = append(bs, &Backend{Name: "avx2", tileRows: mr, tileCols: nr, tile: kernelAVX2, tile16: kernelGeneric16, lanes: 8,
			scaleShift: scaleShiftAVX2, affine2: affine2AVX2, channelSums: channelSumsAVX2, channelDots: channelDotsAVX2,
			reluMask: reluMaskAVX2, addTo: addToAVX2, maxTo: maxToAVX2, routeMax: routeMaxAVX2})
	}
	return append(bs, generic)
}

// cpuVendor returns CPUID leaf 0's vendor string registers (EBX, EDX, ECX).
func cpuVendor() (bx, dx, cx uint32)

func vendorAMD() bool {
	bx, dx, cx := cpuVendor()
	return bx == 0x68747541 && dx == 0x69746e65 && cx == 0x444d4163 // "AuthenticAMD"
}

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
	checkTile(k, a, ar, ap, b, bp, c, ldc)
	if ar == 1 {
		cm(k, &a[0], ap, &b[0], bp, &c[0], ldc, add)
	} else {
		rm(k, &a[0], ar, &b[0], bp, &c[0], ldc, add)
	}
}

// checkTile panics unless A, B and C hold every value of the tile.
func checkTile[T float32 | uint32](k int, a []T, ar, ap int, b []T, bp int, c []float32, ldc int) {
	_ = a[(mr-1)*ar+(k-1)*ap]
	_ = b[(k-1)*bp+nr-1]
	_ = c[(mr-1)*ldc+nr-1]
}

func kernelAVX512(k int, a []float32, ar, ap int, b []float32, bp int, c []float32, ldc int, add bool) {
	dispatch(kernelCM, kernelRM, kernelGeneric, k, a, ar, ap, b, bp, c, ldc, add)
}

// kernelCM6 and kernelRM6 are the AVX2 kernels of a 6×16 quarter of the
// tile (16 ymm registers hold no more), for the same two shapes of A.
//
//go:noescape
func kernelCM6(k int, a *float32, astride int, b *float32, bstep int, c *float32, ldc int, add bool)

//go:noescape
func kernelRM6(k int, a *float32, astride int, b *float32, bstep int, c *float32, ldc int, add bool)

// kernelAVX2 computes the tile as four quarters, the two of a row half one
// after the other, so that the second reads its 6 rows of A from L1.
func kernelAVX2(k int, a []float32, ar, ap int, b []float32, bp int, c []float32, ldc int, add bool) {
	if k == 0 || (ar != 1 && ap != 1) {
		kernelGeneric(k, a, ar, ap, b, bp, c, ldc, add)
		return
	}
	checkTile(k, a, ar, ap, b, bp, c, ldc)
	quarter, stride := kernelCM6, ap
	if ar != 1 {
		quarter, stride = kernelRM6, ar
	}
	for h := 0; h < mr; h += mr / 2 {
		for j := 0; j < nr; j += nr / 2 {
			quarter(k, &a[h*ar], stride, &b[j], bp, &c[h*ldc+j], ldc, add)
		}
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

// The vector bodies, AVX-512 (16 lanes) and AVX2 (8 lanes).

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

//go:noescape
func scaleShiftAVX2(y, x, scale, shift, res *float32, rows, c int, relu bool)

//go:noescape
func affine2AVX2(y, u, v, ku, kv, e *float32, rows, c int)

//go:noescape
func channelSumsAVX2(s, t, x, mean *float32, rows, c int)

//go:noescape
func channelDotsAVX2(s, t, dy, x, mean *float32, rows, c int)

//go:noescape
func reluMaskAVX2(dx, dy, y *float32, n int)

//go:noescape
func addToAVX2(dst, src *float32, n int)

//go:noescape
func maxToAVX2(dst, src *float32, n int)

//go:noescape
func routeMaxAVX2(dst, x, rem, dy *float32, n int)
