package kern

import (
	"fmt"
	"math"
)

// In bf16, SgemmIn rounds A and B to bfloat16 (8-bit mantissa) while
// packing them and accumulates in float32, as oneDNN's bf16 path does: on
// CPUs with AVX512_BF16 each instruction then does twice the multiply-adds.
// A dword packs two bf16 of consecutive k, the low half first.

// toBF16 rounds to the nearest bfloat16, ties to even, flushing denormals
// to zero as VCVTNEPS2BF16 does.
func toBF16(f float32) uint32 {
	b := math.Float32bits(f)
	switch {
	case b&0x7f800000 == 0: // zero or denormal
		return (b >> 16) & 0x8000
	case b&0x7fffffff > 0x7f800000: // NaN stays NaN
		return (b >> 16) | 0x40
	}
	return (b + 0x7fff + (b>>16)&1) >> 16
}

func fromBF16(h uint32) float32 { return math.Float32frombits(h << 16) }

// pair packs two values of consecutive k into a dword.
func pair(lo, hi float32) uint32 { return toBF16(lo) | toBF16(hi)<<16 }

// cvtBF16 packs src, consecutive k values, into len(src)/2 dwords (rounded
// up: an odd last value is paired with zero).
func (be *Backend) cvtBF16(dst []uint32, src []float32) {
	n := 0
	if be.cvt16 != nil {
		n = len(src) &^ 31
		if n > 0 {
			be.cvt16(&dst[0], &src[0], n)
		}
	}
	for ; n+1 < len(src); n += 2 {
		dst[n/2] = pair(src[n], src[n+1])
	}
	if n < len(src) {
		dst[n/2] = pair(src[n], 0)
	}
}

// interleaveBF16 packs lo[i] and hi[i], two values of consecutive k of
// column i, into dst[i]; a nil hi stands for zeros (an odd k at the end).
func (be *Backend) interleaveBF16(dst []uint32, lo, hi []float32) {
	n := 0
	if be.interleave16 != nil && hi != nil {
		n = len(lo) &^ 15
		if n > 0 {
			be.interleave16(&dst[0], &lo[0], &hi[0], n)
		}
	}
	for ; n < len(lo); n++ {
		var h float32
		if hi != nil {
			h = hi[n]
		}
		dst[n] = pair(lo[n], h)
	}
}

// kernelGeneric16 is the portable bf16 micro-kernel: as kernelGeneric over
// kp pairs of k, where A pair (r, q) is a[r*ar + q*ap] and row pair q of B is
// b[q*bp : q*bp+nr]. Each pair adds its high product, then its low one,
// the order of VDPBF16PS, so both give the same float32 sums.
func kernelGeneric16(kp int, a []uint32, ar, ap int, b []uint32, bp int, c []float32, ldc int, add bool) {
	var acc [mr * nr]float32
	for q := 0; q < kp; q++ {
		bRow := b[q*bp : q*bp+nr]
		for i := 0; i < mr; i++ {
			av := a[i*ar+q*ap]
			alo, ahi := fromBF16(av&0xffff), fromBF16(av>>16)
			row := acc[i*nr : i*nr+nr]
			for j, bv := range bRow {
				row[j] += ahi * fromBF16(bv>>16)
				row[j] += alo * fromBF16(bv&0xffff)
			}
		}
	}
	storeTile(acc[:], c, ldc, add)
}

// storeTile writes an mr×nr tile to c: C = acc, or C += acc when add.
func storeTile(acc, c []float32, ldc int, add bool) {
	for i := 0; i < mr; i++ {
		ci := c[i*ldc : i*ldc+nr]
		if add {
			for j := range ci {
				ci[j] += acc[i*nr+j]
			}
		} else {
			copy(ci, acc[i*nr:i*nr+nr])
		}
	}
}

// PackBF16 rounds src to bfloat16 and packs consecutive pairs into dst,
// (len(src)+1)/2 dwords: a row of SgemmPairs' A.
func (e *Engine) PackBF16(dst []uint32, src []float32) {
	if len(dst) != (len(src)+1)/2 {
		panic(fmt.Sprintf("kern: PackBF16 of %d values into %d dwords, want %d", len(src), len(dst), (len(src)+1)/2))
	}
	e.be.cvtBF16(dst, src)
}

// SgemmPairs computes C = A·op(B) + beta*C in bf16 mode for an A (m×k)
// already packed by PackBF16, row i at a[i*lda:]: a caller that produces A
// (convolution's lowering) writes half the bytes and spares the conversion.
// It panics on inconsistent shapes, as Sgemm.
func (e *Engine) SgemmPairs(m, n, k int, a []uint32, lda int, transB bool, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kern: negative gemm size m=%d n=%d k=%d", m, n, k))
	}
	checkMatrix("A pairs", m, (k+1)/2, lda, len(a))
	checkBC(transB, m, n, k, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	e.run(gemm{transB: transB, m: m, n: n, k: k, alpha: 1, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
		bf16: true, pairs: a, ldp: lda})
}

// packA16 converts alpha*op(A)[i0:i0+mb, p0:p0+kb] to bf16 pairs and
// returns the strides (per row, per pair) of the layout it chose: rows of
// kp pairs for a row-major A, panels of mr rows for a transposed one. Rows
// past mb, up to a whole panel, are zero.
func (g *gemm) packA16(dst []uint32, i0, mb, p0, kb int) (ar, ap int) {
	kp := (kb + 1) / 2
	padded := (mb + mr - 1) / mr * mr
	if !g.transA {
		for r := 0; r < mb; r++ {
			src := g.a[(i0+r)*g.lda+p0 : (i0+r)*g.lda+p0+kb]
			row := dst[r*kp : (r+1)*kp]
			if g.alpha == 1 {
				g.be.cvtBF16(row, src)
				continue
			}
			for q := range row {
				var hi float32
				if 2*q+1 < kb {
					hi = g.alpha * src[2*q+1]
				}
				row[q] = pair(g.alpha*src[2*q], hi)
			}
		}
		clear(dst[mb*kp : padded*kp])
		return kp, 1
	}
	for ir := 0; ir < mb; ir += mr {
		panel := dst[ir*kp : (ir+mr)*kp]
		rows := min(mr, mb-ir)
		if rows < mr {
			clear(panel)
		}
		for q := 0; q < kp; q++ {
			lo := g.a[(p0+2*q)*g.lda+i0+ir:][:rows]
			var hi []float32
			if 2*q+1 < kb {
				hi = g.a[(p0+2*q+1)*g.lda+i0+ir:][:rows]
			}
			out := panel[q*mr : q*mr+rows]
			if g.alpha == 1 {
				g.be.interleaveBF16(out, lo, hi)
				continue
			}
			for r := range out {
				var h float32
				if hi != nil {
					h = g.alpha * hi[r]
				}
				out[r] = pair(g.alpha*lo[r], h)
			}
		}
	}
	return 1, mr
}

// packB16 converts op(B)[p0:p0+kb, j0:j0+nb] to panels of nr columns of
// bf16 pairs: panel j holds, for each pair q, the nr dwords of columns
// j*nr.. (zero past nb).
func (g *gemm) packB16(s *scratch, p0, kb, j0, nb int) {
	kp := (kb + 1) / 2
	for jr := 0; jr < nb; jr += nr {
		panel := s.b16[jr*kp : (jr+nr)*kp]
		cols := min(nr, nb-jr)
		if cols < nr {
			clear(panel)
		}
		if g.transB {
			// A stored row is a column of op(B), its k values consecutive:
			// convert it whole, then spread its pairs over the panel.
			col := s.col16[:kp]
			for c := 0; c < cols; c++ {
				g.be.cvtBF16(col, g.b[(j0+jr+c)*g.ldb+p0:][:kb])
				for q, v := range col {
					panel[q*nr+c] = v
				}
			}
			continue
		}
		for q := 0; q < kp; q++ {
			lo := g.b[(p0+2*q)*g.ldb+j0+jr:][:cols]
			var hi []float32
			if 2*q+1 < kb {
				hi = g.b[(p0+2*q+1)*g.ldb+j0+jr:][:cols]
			}
			g.be.interleaveBF16(panel[q*nr:q*nr+cols], lo, hi)
		}
	}
}

// InterleaveBF16 rounds lo and hi, rows of two consecutive k, to bfloat16
// and packs lo[i] and hi[i] into dst[i]: a row pair of Tile16's B. A nil
// hi stands for zeros.
func (e *Engine) InterleaveBF16(dst []uint32, lo, hi []float32) {
	if hi != nil {
		hi = hi[:len(lo)]
	}
	e.be.interleaveBF16(dst[:len(lo)], lo, hi)
}

// Tile16 is Tile in bf16: kp pairs of k, A pair (r, q) at a[r*ar+q*ap] and
// row pair q of B at b[q*bp:], accumulated in float32.
func (e *Engine) Tile16(kp int, a []uint32, ar, ap int, b []uint32, bp int, c []float32, ldc int, add bool) {
	e.be.tile16(kp, a, ar, ap, b, bp, c, ldc, add)
}
