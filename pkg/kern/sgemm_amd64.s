//go:build !purego

#include "textflag.h"
#include "gemm_amd64.h"

// The 12x32 micro-kernels keep a 12-row by 32-column tile of C in 24 zmm
// accumulators (Z0-Z23): per k step they load one 32-wide row of B into
// Z24/Z25, broadcast each of the 12 values of A in turn into Z26 and
// accumulate. They differ only in where the 12 values of A come from.

#define ROW(src, c0, c1) \
	VBROADCASTSS src, Z26;     \
	VFMADD231PS  Z24, Z26, c0; \
	VFMADD231PS  Z25, Z26, c1

// Column-major A: the 12 values of a k step are contiguous at SI.
#define STEPCM(off) \
	LOADB;                     \
	ROW(off+0(SI), Z0, Z1);    \
	ROW(off+4(SI), Z2, Z3);    \
	ROW(off+8(SI), Z4, Z5);    \
	ROW(off+12(SI), Z6, Z7);   \
	ROW(off+16(SI), Z8, Z9);   \
	ROW(off+20(SI), Z10, Z11); \
	ROW(off+24(SI), Z12, Z13); \
	ROW(off+28(SI), Z14, Z15); \
	ROW(off+32(SI), Z16, Z17); \
	ROW(off+36(SI), Z18, Z19); \
	ROW(off+40(SI), Z20, Z21); \
	ROW(off+44(SI), Z22, Z23)

// func kernelCM(k int, a *float32, astride int, b *float32, bstep int, c *float32, ldc int, add bool)
// A value (r, p) is at a[p*astride + r]; B row p at b[p*bstep:].
TEXT ·kernelCM(SB), NOSPLIT, $0-57
	ARGS
	ZERO
	TESTQ CX, CX
	JZ    cmstore

cmloop:
	STEPCM(0)
	ADDQ R11, SI
	DECQ CX
	JNZ  cmloop

cmstore:
	STORE
	VZEROUPPER
	RET

// Row-major A: row r of a k step is at SI + r*R11. x86 addressing reaches
// rows 0,1,2,4,8 from SI; 3,5,7,11 from R12 (row 3); 6,10 from R13 (row 6);
// 9 from AX (row 9).
#define STEPRM(off) \
	LOADB;                            \
	ROW(off(SI), Z0, Z1);             \
	ROW(off(SI)(R11*1), Z2, Z3);      \
	ROW(off(SI)(R11*2), Z4, Z5);      \
	ROW(off(R12), Z6, Z7);            \
	ROW(off(SI)(R11*4), Z8, Z9);      \
	ROW(off(R12)(R11*2), Z10, Z11);   \
	ROW(off(R13), Z12, Z13);          \
	ROW(off(R12)(R11*4), Z14, Z15);   \
	ROW(off(SI)(R11*8), Z16, Z17);    \
	ROW(off(AX), Z18, Z19);           \
	ROW(off(R13)(R11*4), Z20, Z21);   \
	ROW(off(R12)(R11*8), Z22, Z23)

// func kernelRM(k int, a *float32, astride int, b *float32, bstep int, c *float32, ldc int, add bool)
// A value (r, p) is at a[r*astride + p]; B row p at b[p*bstep:].
TEXT ·kernelRM(SB), NOSPLIT, $0-57
	ARGS
	ROWBASES
	ZERO

	// Four k steps per iteration, then the rest one at a time.
	MOVQ CX, BX
	SHRQ $2, BX
	JZ   rmtail

rmloop4:
	STEPRM(0)
	STEPRM(4)
	STEPRM(8)
	STEPRM(12)
	ADDQ $16, SI
	ADDQ $16, R12
	ADDQ $16, R13
	ADDQ $16, AX
	DECQ BX
	JNZ  rmloop4

rmtail:
	ANDQ $3, CX
	JZ   rmstore

rmloop1:
	STEPRM(0)
	ADDQ $4, SI
	ADDQ $4, R12
	ADDQ $4, R13
	ADDQ $4, AX
	DECQ CX
	JNZ  rmloop1

rmstore:
	STORE
	VZEROUPPER
	RET
