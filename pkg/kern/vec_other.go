//go:build !amd64

package kern

// Without amd64 the portable loops serve every call; the assembly entry
// points below are never reached.
var useAVX512, useBF16AVX = false, false

func scaleShiftAVX(y, x, scale, shift, res *float32, rows, c int, relu bool) {
	panic("kern: no AVX-512")
}
func affine2AVX(y, u, v, ku, kv, e *float32, rows, c int)    { panic("kern: no AVX-512") }
func channelSumsAVX(s, t, x, mean *float32, rows, c int)     { panic("kern: no AVX-512") }
func channelDotsAVX(s, t, dy, x, mean *float32, rows, c int) { panic("kern: no AVX-512") }
func reluMaskAVX(dx, dy, y *float32, n int)                  { panic("kern: no AVX-512") }
func addToAVX(dst, src *float32, n int)                      { panic("kern: no AVX-512") }
func maxToAVX(dst, src *float32, n int)                      { panic("kern: no AVX-512") }
func routeMaxAVX(dst, x, rem, dy *float32, n int)            { panic("kern: no AVX-512") }
func cvtBF16AVX(dst *uint32, src *float32, n int)            { panic("kern: no AVX-512") }
func interleaveBF16AVX(dst *uint32, lo, hi *float32, n int)  { panic("kern: no AVX-512") }
