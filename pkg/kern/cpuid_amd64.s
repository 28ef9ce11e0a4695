//go:build !purego

#include "textflag.h"

// func cpuVendor() (bx, dx, cx uint32)
TEXT ·cpuVendor(SB), NOSPLIT, $0-12
	XORL AX, AX
	CPUID
	MOVL BX, bx+0(FP)
	MOVL DX, dx+4(FP)
	MOVL CX, cx+8(FP)
	RET
