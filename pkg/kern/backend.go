package kern

import (
	"fmt"
	"strings"
)

// A Backend is the kernels' bodies for one instruction set: the micro-kernels
// of the GEMM's mr×nr tile (float32, and bf16 pairs with float32
// accumulation), the bf16 conversions and the vector loops. A nil body
// falls back to the portable Go loop beside its caller.
type Backend struct {
	Name string
	// NativeBF16 is set where the bf16 bodies use the CPU's bf16
	// instructions; elsewhere bf16 mode runs the portable kernel.
	NativeBF16 bool
	// FastBF16 is set where bf16 products run faster than float32 ones:
	// VDPBF16PS at twice the FMA rate (AMD Zen 4 and 5), not at half of it
	// (Intel Sapphire Rapids).
	FastBF16 bool

	// tileRows×tileCols is the tile the micro-kernels compute. Every
	// backend so far has the GEMM's mr×nr; one with another shape (AMX's
	// 16-row tiles) needs the blocking sized from it.
	tileRows, tileCols int
	tile               func(k int, a []float32, ar, ap int, b []float32, bp int, c []float32, ldc int, add bool)
	tile16             func(kp int, a []uint32, ar, ap int, b []uint32, bp int, c []float32, ldc int, add bool)

	// Conversions of 32 (cvt16) and 16 (interleave16) values at a time.
	cvt16        func(dst *uint32, src *float32, n int)
	interleave16 func(dst *uint32, lo, hi *float32, n int)

	// lanes is the float32 width of the vector bodies: rows of c channels
	// go to them when c is a multiple of it, and elementwise loops hand
	// them their leading multiple of it. 0: no vector bodies.
	lanes       int
	scaleShift  func(y, x, scale, shift, res *float32, rows, c int, relu bool)
	affine2     func(y, u, v, ku, kv, e *float32, rows, c int)
	channelSums func(s, t, x, mean *float32, rows, c int)
	channelDots func(s, t, dy, x, mean *float32, rows, c int)
	reluMask    func(dx, dy, y *float32, n int)
	addTo       func(dst, src *float32, n int)
	maxTo       func(dst, src *float32, n int)
	routeMax    func(dst, x, rem, dy *float32, n int)
}

// generic is the portable backend, available everywhere.
var generic = &Backend{Name: "generic", tileRows: mr, tileCols: nr, tile: kernelGeneric, tile16: kernelGeneric16}

// backends are this CPU's backends, best first (available is per platform
// and build tag).
var backends = available()

// Available names the backends this CPU runs, best first (for flags).
func Available() []string {
	names := make([]string, len(backends))
	for i, b := range backends {
		names[i] = b.Name
	}
	return names
}

// backend returns the named backend; "" or "auto" is the best.
func backend(name string) (*Backend, error) {
	if name == "" || name == "auto" {
		return backends[0], nil
	}
	for _, b := range backends {
		if b.Name == name {
			return b, nil
		}
	}
	return nil, fmt.Errorf("backend %q is not available on this CPU (available: %s)", name, strings.Join(Available(), ", "))
}
