//go:build !purego

#include "textflag.h"

// The vector kernels of vec_amd64.s in AVX2: 8 floats per ymm, so rows of
// c channels with c a multiple of 8 and element counts a multiple of 8.

// func scaleShiftAVX2(y, x, scale, shift, res *float32, rows, c int, relu bool)
TEXT ·scaleShiftAVX2(SB), NOSPLIT, $0-57
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ scale+16(FP), R8
	MOVQ shift+24(FP), R9
	MOVQ res+32(FP), R11
	MOVQ rows+40(FP), CX
	MOVQ c+48(FP), DX
	MOVBQZX relu+56(FP), R10
	VXORPS Y15, Y15, Y15
	TESTQ R10, R10
	JNZ  ssfloor
	MOVL $0xff800000, R10 // -inf: the max is then the identity
	MOVQ R10, X15
	VPBROADCASTD X15, Y15
ssfloor:
	TESTQ R11, R11
	JNZ  ssres

ssrow:
	XORQ AX, AX
sscol:
	VMOVUPS     (R8)(AX*4), Y1
	VMOVUPS     (SI)(AX*4), Y0
	VFMADD213PS (R9)(AX*4), Y1, Y0
	VMAXPS      Y15, Y0, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	ADDQ $8, AX
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
	VMOVUPS     (R8)(AX*4), Y1
	VMOVUPS     (SI)(AX*4), Y0
	VFMADD213PS (R9)(AX*4), Y1, Y0
	VADDPS      (R11)(AX*4), Y0, Y0
	VMAXPS      Y15, Y0, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, DX
	JB   ssrcol
	LEAQ (SI)(DX*4), SI
	LEAQ (DI)(DX*4), DI
	LEAQ (R11)(DX*4), R11
	DECQ CX
	JNZ  ssres
	VZEROUPPER
	RET

// func affine2AVX2(y, u, v, ku, kv, e *float32, rows, c int)
TEXT ·affine2AVX2(SB), NOSPLIT, $0-64
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
	VMOVUPS     (R10)(AX*4), Y0
	VMOVUPS     (SI)(AX*4), Y1
	VFMADD231PS (R8)(AX*4), Y1, Y0
	VMOVUPS     (BX)(AX*4), Y2
	VFMADD231PS (R9)(AX*4), Y2, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, DX
	JB   a2col
	LEAQ (SI)(DX*4), SI
	LEAQ (BX)(DX*4), BX
	LEAQ (DI)(DX*4), DI
	DECQ CX
	JNZ  a2row
	VZEROUPPER
	RET

// func channelSumsAVX2(s, t, x, mean *float32, rows, c int)
TEXT ·channelSumsAVX2(SB), NOSPLIT, $0-48
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
	VMOVUPS (DI)(AX*4), Y0
	VADDPS  (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
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
	VMOVUPS     (SI)(AX*4), Y1
	VADDPS      (DI)(AX*4), Y1, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	VSUBPS      (R9)(AX*4), Y1, Y1
	VMOVUPS     (R8)(AX*4), Y2
	VFMADD231PS Y1, Y1, Y2
	VMOVUPS     Y2, (R8)(AX*4)
	ADDQ $8, AX
	CMPQ AX, DX
	JB   csqcol
	LEAQ (SI)(DX*4), SI
	DECQ CX
	JNZ  csq
	VZEROUPPER
	RET

// func channelDotsAVX2(s, t, dy, x, mean *float32, rows, c int)
TEXT ·channelDotsAVX2(SB), NOSPLIT, $0-56
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
	VMOVUPS     (SI)(AX*4), Y1
	VADDPS      (DI)(AX*4), Y1, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	VMOVUPS     (BX)(AX*4), Y2
	VSUBPS      (R9)(AX*4), Y2, Y2
	VMOVUPS     (R8)(AX*4), Y3
	VFMADD231PS Y1, Y2, Y3
	VMOVUPS     Y3, (R8)(AX*4)
	ADDQ $8, AX
	CMPQ AX, DX
	JB   cdcol
	LEAQ (SI)(DX*4), SI
	LEAQ (BX)(DX*4), BX
	DECQ CX
	JNZ  cdrow
	VZEROUPPER
	RET

// func reluMaskAVX2(dx, dy, y *float32, n int)
TEXT ·reluMaskAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ y+16(FP), BX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	VXORPS Y15, Y15, Y15
rmloop:
	VMOVUPS (BX)(AX*4), Y1
	VCMPPS  $14, Y15, Y1, Y1 // y > 0 (GT_OS): all ones where it holds
	VANDPS  (SI)(AX*4), Y1, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JB   rmloop
	VZEROUPPER
	RET

// func addToAVX2(dst, src *float32, n int)
TEXT ·addToAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
atloop:
	VMOVUPS (DI)(AX*4), Y0
	VADDPS  (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JB   atloop
	VZEROUPPER
	RET

// func maxToAVX2(dst, src *float32, n int)
TEXT ·maxToAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
mtloop:
	VMOVUPS (DI)(AX*4), Y0
	VMAXPS  (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JB   mtloop
	VZEROUPPER
	RET

// func routeMaxAVX2(dst, x, rem, dy *float32, n int)
// Without mask registers: the compare's all-ones lanes select the sum by
// blending, and become a NaN (all ones) in rem.
TEXT ·routeMaxAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ rem+16(FP), BX
	MOVQ dy+24(FP), DX
	MOVQ n+32(FP), CX
	XORQ AX, AX
rtloop:
	VMOVUPS (SI)(AX*4), Y0
	VCMPPS  $0, (BX)(AX*4), Y0, Y0 // x == rem (EQ_OQ)
	VMOVUPS   (DI)(AX*4), Y3
	VADDPS    (DX)(AX*4), Y3, Y1
	VBLENDVPS Y0, Y1, Y3, Y3 // dst+dy where matched, dst (even -0) elsewhere
	VMOVUPS   Y3, (DI)(AX*4)
	VORPS   (BX)(AX*4), Y0, Y2
	VMOVUPS Y2, (BX)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JB   rtloop
	VZEROUPPER
	RET
