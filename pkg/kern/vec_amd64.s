//go:build !purego

#include "textflag.h"

// Row kernels: SI walks x a row of c channels (DX) at a time, AX indexes
// the channel (in floats, 16 per zmm) within the row.

// func scaleShiftAVX(y, x, scale, shift, res *float32, rows, c int, relu bool)
// y = max(x*scale + shift (+ res), floor) with floor 0 for relu, -inf without.
TEXT ·scaleShiftAVX(SB), NOSPLIT, $0-57
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ scale+16(FP), R8
	MOVQ shift+24(FP), R9
	MOVQ res+32(FP), R11
	MOVQ rows+40(FP), CX
	MOVQ c+48(FP), DX
	MOVBQZX relu+56(FP), R10
	VPXORD Z31, Z31, Z31
	TESTQ R10, R10
	JNZ  ssfloor
	MOVL $0xff800000, R10 // -inf: the max is then the identity
	VPBROADCASTD R10, Z31
ssfloor:
	TESTQ R11, R11
	JNZ  ssres

ssrow:
	XORQ AX, AX
sscol:
	VMOVUPS     (R8)(AX*4), Z1
	VMOVUPS     (SI)(AX*4), Z0
	VFMADD213PS (R9)(AX*4), Z1, Z0
	VMAXPS      Z31, Z0, Z0
	VMOVUPS     Z0, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, DX
	JB   sscol
	LEAQ (SI)(DX*4), SI
	LEAQ (DI)(DX*4), DI
	DECQ CX
	JNZ  ssrow
	VZEROUPPER
	RET

ssres:
	XORQ AX, AX
ssrcol:
	VMOVUPS     (R8)(AX*4), Z1
	VMOVUPS     (SI)(AX*4), Z0
	VFMADD213PS (R9)(AX*4), Z1, Z0
	VADDPS      (R11)(AX*4), Z0, Z0
	VMAXPS      Z31, Z0, Z0
	VMOVUPS     Z0, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, DX
	JB   ssrcol
	LEAQ (SI)(DX*4), SI
	LEAQ (DI)(DX*4), DI
	LEAQ (R11)(DX*4), R11
	DECQ CX
	JNZ  ssres
	VZEROUPPER
	RET

// func affine2AVX(y, u, v, ku, kv, e *float32, rows, c int)
TEXT ·affine2AVX(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ u+8(FP), SI
	MOVQ v+16(FP), BX
	MOVQ ku+24(FP), R8
	MOVQ kv+32(FP), R9
	MOVQ e+40(FP), R10
	MOVQ rows+48(FP), CX
	MOVQ c+56(FP), DX
a2row:
	XORQ AX, AX
a2col:
	VMOVUPS     (R10)(AX*4), Z0
	VMOVUPS     (SI)(AX*4), Z1
	VFMADD231PS (R8)(AX*4), Z1, Z0
	VMOVUPS     (BX)(AX*4), Z2
	VFMADD231PS (R9)(AX*4), Z2, Z0
	VMOVUPS     Z0, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, DX
	JB   a2col
	LEAQ (SI)(DX*4), SI
	LEAQ (BX)(DX*4), BX
	LEAQ (DI)(DX*4), DI
	DECQ CX
	JNZ  a2row
	VZEROUPPER
	RET

// func channelSumsAVX(s, t, x, mean *float32, rows, c int)
// s += x per channel; and t += (x-mean)² unless t is nil.
TEXT ·channelSumsAVX(SB), NOSPLIT, $0-48
	MOVQ s+0(FP), DI
	MOVQ t+8(FP), R8
	MOVQ x+16(FP), SI
	MOVQ mean+24(FP), R9
	MOVQ rows+32(FP), CX
	MOVQ c+40(FP), DX
	TESTQ R8, R8
	JNZ  csq
csrow:
	XORQ AX, AX
cscol:
	VMOVUPS (DI)(AX*4), Z0
	VADDPS  (SI)(AX*4), Z0, Z0
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, DX
	JB   cscol
	LEAQ (SI)(DX*4), SI
	DECQ CX
	JNZ  csrow
	VZEROUPPER
	RET
csq:
	XORQ AX, AX
csqcol:
	VMOVUPS     (SI)(AX*4), Z1
	VADDPS      (DI)(AX*4), Z1, Z0
	VMOVUPS     Z0, (DI)(AX*4)
	VSUBPS      (R9)(AX*4), Z1, Z1
	VMOVUPS     (R8)(AX*4), Z2
	VFMADD231PS Z1, Z1, Z2
	VMOVUPS     Z2, (R8)(AX*4)
	ADDQ $16, AX
	CMPQ AX, DX
	JB   csqcol
	LEAQ (SI)(DX*4), SI
	DECQ CX
	JNZ  csq
	VZEROUPPER
	RET

// func channelDotsAVX(s, t, dy, x, mean *float32, rows, c int)
// s += dy and t += dy*(x-mean) per channel.
TEXT ·channelDotsAVX(SB), NOSPLIT, $0-56
	MOVQ s+0(FP), DI
	MOVQ t+8(FP), R8
	MOVQ dy+16(FP), SI
	MOVQ x+24(FP), BX
	MOVQ mean+32(FP), R9
	MOVQ rows+40(FP), CX
	MOVQ c+48(FP), DX
cdrow:
	XORQ AX, AX
cdcol:
	VMOVUPS     (SI)(AX*4), Z1
	VADDPS      (DI)(AX*4), Z1, Z0
	VMOVUPS     Z0, (DI)(AX*4)
	VMOVUPS     (BX)(AX*4), Z2
	VSUBPS      (R9)(AX*4), Z2, Z2
	VMOVUPS     (R8)(AX*4), Z3
	VFMADD231PS Z1, Z2, Z3
	VMOVUPS     Z3, (R8)(AX*4)
	ADDQ $16, AX
	CMPQ AX, DX
	JB   cdcol
	LEAQ (SI)(DX*4), SI
	LEAQ (BX)(DX*4), BX
	DECQ CX
	JNZ  cdrow
	VZEROUPPER
	RET

// Elementwise kernels over n values, n a multiple of 16.

// func reluMaskAVX(dx, dy, y *float32, n int)
TEXT ·reluMaskAVX(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ y+16(FP), BX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	VPXORD Z31, Z31, Z31
rmloop:
	VMOVUPS  (BX)(AX*4), Z1
	VCMPPS   $14, Z31, Z1, K1 // y > 0 (GT_OS)
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VMOVUPS  Z0, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JB   rmloop
	VZEROUPPER
	RET

// func addToAVX(dst, src *float32, n int)
TEXT ·addToAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
atloop:
	VMOVUPS (DI)(AX*4), Z0
	VADDPS  (SI)(AX*4), Z0, Z0
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JB   atloop
	VZEROUPPER
	RET

// func maxToAVX(dst, src *float32, n int)
TEXT ·maxToAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
mtloop:
	VMOVUPS (DI)(AX*4), Z0
	VMAXPS  (SI)(AX*4), Z0, Z0
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JB   mtloop
	VZEROUPPER
	RET

// func routeMaxAVX(dst, x, rem, dy *float32, n int)
TEXT ·routeMaxAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rem+16(FP), BX
	MOVQ dy+24(FP), DX
	MOVQ n+32(FP), CX
	VPTERNLOGD $0xff, Z31, Z31, Z31 // all ones: a NaN
	XORQ AX, AX
rtloop:
	VMOVUPS (SI)(AX*4), Z0
	VCMPPS  $0, (BX)(AX*4), Z0, K1 // x == rem (EQ_OQ)
	VMOVUPS (DI)(AX*4), Z1
	VADDPS  (DX)(AX*4), Z1, K1, Z1
	VMOVUPS Z1, (DI)(AX*4)
	VMOVUPS Z31, K1, (BX)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JB   rtloop
	VZEROUPPER
	RET
