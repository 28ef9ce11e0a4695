//go:build !purego

#include "textflag.h"
#include "gemm_amd64.h"

// The AVX2 micro-kernels compute a 6-row by 16-column part of the 12x32
// tile (16 ymm registers cannot hold the whole of it): the accumulators are
// Y0-Y11, a k step's 16 values of B are loaded into Y12/Y13 and each of
// the 6 values of A is broadcast into Y14 in turn. kernelAVX2 runs four of
// them per tile.

#define ROW6(src, c0, c1) \
	VBROADCASTSS src, Y14;     \
	VFMADD231PS  Y12, Y14, c0; \
	VFMADD231PS  Y13, Y14, c1

#define LOADB6 \
	VMOVUPS (DI), Y12;   \
	VMOVUPS 32(DI), Y13; \
	ADDQ    DX, DI

#define ZERO6 \
	VXORPS Y0, Y0, Y0;    \
	VXORPS Y1, Y1, Y1;    \
	VXORPS Y2, Y2, Y2;    \
	VXORPS Y3, Y3, Y3;    \
	VXORPS Y4, Y4, Y4;    \
	VXORPS Y5, Y5, Y5;    \
	VXORPS Y6, Y6, Y6;    \
	VXORPS Y7, Y7, Y7;    \
	VXORPS Y8, Y8, Y8;    \
	VXORPS Y9, Y9, Y9;    \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11

// One row of the sub-tile at R10, as STOREROW in gemm_amd64.h.
#define STOREROW6(c0, c1) \
	TESTQ   R9, R9;          \
	JZ      3(PC);           \
	VADDPS  (R10), c0, c0;   \
	VADDPS  32(R10), c1, c1; \
	VMOVUPS c0, (R10);       \
	VMOVUPS c1, 32(R10);     \
	ADDQ    R8, R10

#define STORE6 \
	STOREROW6(Y0, Y1);   \
	STOREROW6(Y2, Y3);   \
	STOREROW6(Y4, Y5);   \
	STOREROW6(Y6, Y7);   \
	STOREROW6(Y8, Y9);   \
	STOREROW6(Y10, Y11)

// func kernelCM6(k int, a *float32, astride int, b *float32, bstep int, c *float32, ldc int, add bool)
// A value (r, p) is at a[p*astride + r]; B row p at b[p*bstep:].
TEXT ·kernelCM6(SB), NOSPLIT, $0-57
	ARGS
	ZERO6
	TESTQ CX, CX
	JZ    cmstore

cmloop:
	LOADB6
	ROW6(0(SI), Y0, Y1)
	ROW6(4(SI), Y2, Y3)
	ROW6(8(SI), Y4, Y5)
	ROW6(12(SI), Y6, Y7)
	ROW6(16(SI), Y8, Y9)
	ROW6(20(SI), Y10, Y11)
	ADDQ R11, SI
	DECQ CX
	JNZ  cmloop

cmstore:
	STORE6
	VZEROUPPER
	RET

// Row-major A: row r of a k step is at SI + r*R11; rows 0,1,2,4 from SI,
// 3 and 5 from R12 (row 3).
#define STEPRM6(off) \
	LOADB6;                        \
	ROW6(off(SI), Y0, Y1);         \
	ROW6(off(SI)(R11*1), Y2, Y3);  \
	ROW6(off(SI)(R11*2), Y4, Y5);  \
	ROW6(off(R12), Y6, Y7);        \
	ROW6(off(SI)(R11*4), Y8, Y9);  \
	ROW6(off(R12)(R11*2), Y10, Y11)

// func kernelRM6(k int, a *float32, astride int, b *float32, bstep int, c *float32, ldc int, add bool)
// A value (r, p) is at a[r*astride + p]; B row p at b[p*bstep:].
TEXT ·kernelRM6(SB), NOSPLIT, $0-57
	ARGS
	LEAQ (SI)(R11*2), R12
	ADDQ R11, R12
	ZERO6

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   rmtail

rmloop4:
	STEPRM6(0)
	STEPRM6(4)
	STEPRM6(8)
	STEPRM6(12)
	ADDQ $16, SI
	ADDQ $16, R12
	DECQ BX
	JNZ  rmloop4

rmtail:
	ANDQ $3, CX
	JZ   rmstore

rmloop1:
	STEPRM6(0)
	ADDQ $4, SI
	ADDQ $4, R12
	DECQ CX
	JNZ  rmloop1

rmstore:
	STORE6
	VZEROUPPER
	RET
