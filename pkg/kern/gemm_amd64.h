// Macros shared by the float32 and bf16 12x32 GEMM micro-kernels: both
// keep a 12-row by 32-column tile of C in Z0-Z23 and read B a row (of k
// values, or of k pairs) at a time.

// One step of B: the row at DI into Z24/Z25, then DI moves DX bytes on.
#define LOADB \
	VMOVUPS (DI), Z24;   \
	VMOVUPS 64(DI), Z25; \
	ADDQ    DX, DI

#define ZERO \
	VPXORD Z0, Z0, Z0;    \
	VPXORD Z1, Z1, Z1;    \
	VPXORD Z2, Z2, Z2;    \
	VPXORD Z3, Z3, Z3;    \
	VPXORD Z4, Z4, Z4;    \
	VPXORD Z5, Z5, Z5;    \
	VPXORD Z6, Z6, Z6;    \
	VPXORD Z7, Z7, Z7;    \
	VPXORD Z8, Z8, Z8;    \
	VPXORD Z9, Z9, Z9;    \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23

// Write one row of the tile at R10: C[row] = acc, or C[row] += acc when
// R9 is set; then R10 moves to the next row (R8 bytes on).
#define STOREROW(c0, c1) \
	TESTQ   R9, R9;          \
	JZ      3(PC);           \
	VADDPS  (R10), c0, c0;   \
	VADDPS  64(R10), c1, c1; \
	VMOVUPS c0, (R10);       \
	VMOVUPS c1, 64(R10);     \
	ADDQ    R8, R10

#define STORE \
	STOREROW(Z0, Z1);   \
	STOREROW(Z2, Z3);   \
	STOREROW(Z4, Z5);   \
	STOREROW(Z6, Z7);   \
	STOREROW(Z8, Z9);   \
	STOREROW(Z10, Z11); \
	STOREROW(Z12, Z13); \
	STOREROW(Z14, Z15); \
	STOREROW(Z16, Z17); \
	STOREROW(Z18, Z19); \
	STOREROW(Z20, Z21); \
	STOREROW(Z22, Z23)

// ARGS loads the arguments every micro-kernel takes, (k, a, astride, b,
// bstep, c, ldc, add): k steps into CX, A at SI with its stride in bytes in
// R11, B at DI with its step in bytes in DX, C at R10 with its row stride
// in bytes in R8, and add into R9.
#define ARGS \
	MOVQ    k+0(FP), CX;        \
	MOVQ    a+8(FP), SI;        \
	MOVQ    astride+16(FP), R11; \
	SHLQ    $2, R11;            \
	MOVQ    b+24(FP), DI;       \
	MOVQ    bstep+32(FP), DX;   \
	SHLQ    $2, DX;             \
	MOVQ    c+40(FP), R10;      \
	MOVQ    ldc+48(FP), R8;     \
	SHLQ    $2, R8;             \
	MOVBQZX add+56(FP), R9

// ROWBASES points R12, R13 and AX at rows 3, 6 and 9 of a row-major A
// (rows R11 bytes apart from SI), so that base+index addressing reaches
// all 12 rows.
#define ROWBASES \
	LEAQ (SI)(R11*2), R12;  \
	ADDQ R11, R12;          \
	LEAQ (R12)(R11*2), R13; \
	ADDQ R11, R13;          \
	LEAQ (R13)(R11*2), AX;  \
	ADDQ R11, AX
