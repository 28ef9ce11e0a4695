//go:build !purego

#include "textflag.h"
#include "gemm_amd64.h"

// The bf16 micro-kernels: kernelCM and kernelRM with VDPBF16PS for
// VFMADD231PS. Each k step is a pair of k values: a dword of A holds two
// bf16 (k, k+1) of one row, a dword of packed B two bf16 of one column, and
// VDPBF16PS adds both products to a float32 accumulator. The Go assembler
// has no AVX512_BF16 mnemonics, so the instructions are spelled in bytes
// (encodings from GNU as).

// DP(p1, p2, modrm) is VDPBF16PS acc, Z24|Z25, Z26: p1 selects the bank of
// the accumulator (0x92: Z0-Z7, 0x12: Z8-Z15, 0x82: Z16-Z23), p2 the B
// register (0x3e: Z24, 0x36: Z25), modrm the accumulator within its bank.
#define DP(p1, p2, modrm) BYTE $0x62; BYTE $p1; BYTE $p2; BYTE $0x40; BYTE $0x52; BYTE $modrm

#define ROW0(src)  VPBROADCASTD src, Z26; DP(0x92, 0x3e, 0xc2); DP(0x92, 0x36, 0xca)
#define ROW1(src)  VPBROADCASTD src, Z26; DP(0x92, 0x3e, 0xd2); DP(0x92, 0x36, 0xda)
#define ROW2(src)  VPBROADCASTD src, Z26; DP(0x92, 0x3e, 0xe2); DP(0x92, 0x36, 0xea)
#define ROW3(src)  VPBROADCASTD src, Z26; DP(0x92, 0x3e, 0xf2); DP(0x92, 0x36, 0xfa)
#define ROW4(src)  VPBROADCASTD src, Z26; DP(0x12, 0x3e, 0xc2); DP(0x12, 0x36, 0xca)
#define ROW5(src)  VPBROADCASTD src, Z26; DP(0x12, 0x3e, 0xd2); DP(0x12, 0x36, 0xda)
#define ROW6(src)  VPBROADCASTD src, Z26; DP(0x12, 0x3e, 0xe2); DP(0x12, 0x36, 0xea)
#define ROW7(src)  VPBROADCASTD src, Z26; DP(0x12, 0x3e, 0xf2); DP(0x12, 0x36, 0xfa)
#define ROW8(src)  VPBROADCASTD src, Z26; DP(0x82, 0x3e, 0xc2); DP(0x82, 0x36, 0xca)
#define ROW9(src)  VPBROADCASTD src, Z26; DP(0x82, 0x3e, 0xd2); DP(0x82, 0x36, 0xda)
#define ROW10(src) VPBROADCASTD src, Z26; DP(0x82, 0x3e, 0xe2); DP(0x82, 0x36, 0xea)
#define ROW11(src) VPBROADCASTD src, Z26; DP(0x82, 0x3e, 0xf2); DP(0x82, 0x36, 0xfa)

// func kernelCM16(k int, a *uint32, astride int, b *uint32, bstep int, c *float32, ldc int, add bool)
// A pair (r, q) is a[q*astride + r]; B row pair q at b[q*bstep:]; k pairs.
TEXT ·kernelCM16(SB), NOSPLIT, $0-57
	ARGS
	ZERO
	TESTQ CX, CX
	JZ    cm16store

cm16loop:
	LOADB
	ROW0(0(SI))
	ROW1(4(SI))
	ROW2(8(SI))
	ROW3(12(SI))
	ROW4(16(SI))
	ROW5(20(SI))
	ROW6(24(SI))
	ROW7(28(SI))
	ROW8(32(SI))
	ROW9(36(SI))
	ROW10(40(SI))
	ROW11(44(SI))
	ADDQ R11, SI
	DECQ CX
	JNZ  cm16loop

cm16store:
	STORE
	VZEROUPPER
	RET

// Row-major A: row r's pair q is at SI + r*R11 + 4q, reached as in kernelRM.
#define STEPRM16(off) \
	LOADB;                       \
	ROW0(off(SI));               \
	ROW1(off(SI)(R11*1));        \
	ROW2(off(SI)(R11*2));        \
	ROW3(off(R12));              \
	ROW4(off(SI)(R11*4));        \
	ROW5(off(R12)(R11*2));       \
	ROW6(off(R13));              \
	ROW7(off(R12)(R11*4));       \
	ROW8(off(SI)(R11*8));        \
	ROW9(off(AX));               \
	ROW10(off(R13)(R11*4));      \
	ROW11(off(R12)(R11*8))

// func kernelRM16(k int, a *uint32, astride int, b *uint32, bstep int, c *float32, ldc int, add bool)
// A pair (r, q) is a[r*astride + q]; B row pair q at b[q*bstep:]; k pairs.
TEXT ·kernelRM16(SB), NOSPLIT, $0-57
	ARGS
	ROWBASES
	ZERO
	TESTQ CX, CX
	JZ    rm16store

rm16loop:
	STEPRM16(0)
	ADDQ $4, SI
	ADDQ $4, R12
	ADDQ $4, R13
	ADDQ $4, AX
	DECQ CX
	JNZ  rm16loop

rm16store:
	STORE
	VZEROUPPER
	RET

// func cvtBF16AVX(dst *uint32, src *float32, n int)
// dst[i] = bf16(src[2i]) | bf16(src[2i+1])<<16 for 2i < n, n a multiple of 32:
// VCVTNE2PS2BF16 Z0, Z1, Z0 keeps k order, so pairs land in dwords.
TEXT ·cvtBF16AVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $5, CX
cvtloop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	BYTE $0x62; BYTE $0xf2; BYTE $0x77; BYTE $0x48; BYTE $0x72; BYTE $0xc0 // VCVTNE2PS2BF16 Z0, Z1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  cvtloop
	VZEROUPPER
	RET

// func interleaveBF16AVX(dst *uint32, lo, hi *float32, n int)
// dst[i] = bf16(lo[i]) | bf16(hi[i])<<16 for i < n, n a multiple of 16:
// two k values of one column into the dword of a pair.
TEXT ·interleaveBF16AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ lo+8(FP), SI
	MOVQ hi+16(FP), BX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
ilvloop:
	VMOVUPS (SI), Z0
	VMOVUPS (BX), Z1
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc0 // VCVTNEPS2BF16 Y0, Z0
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc9 // VCVTNEPS2BF16 Y1, Z1
	VPUNPCKLWD Y1, Y0, Y2 // pairs 0-3 | 8-11
	VPUNPCKHWD Y1, Y0, Y3 // pairs 4-7 | 12-15
	VPERM2I128 $0x20, Y3, Y2, Y4 // pairs 0-7
	VPERM2I128 $0x31, Y3, Y2, Y5 // pairs 8-15
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	ADDQ $64, SI
	ADDQ $64, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  ilvloop
	VZEROUPPER
	RET
