package kern

import (
	"fmt"
	"math"
)

// Vector kernels over activations laid out as rows of c channels (NHWC),
// the memory-bound work between the GEMMs: batch-norm application and
// statistics, ReLU, residual adds, pooling. Per-channel vectors (scale,
// shift, sums) have length c; the row count is len(x)/c. Each runs the
// engine's backend's body for c a multiple of its lanes, and a portable loop
// otherwise.

// vecAVX reports whether the backend's bodies serve rows of c channels.
func (e *Engine) vecAVX(c int) bool { return e.be.lanes > 0 && c%e.be.lanes == 0 }

// rows checks that x holds whole rows of c channels and returns their count.
func rows(what string, x []float32, c int) int {
	if c <= 0 || len(x)%c != 0 {
		panic(fmt.Sprintf("kern: %s of %d values is not whole rows of %d channels", what, len(x), c))
	}
	return len(x) / c
}

func sameLen(what string, n int, s ...[]float32) {
	for _, v := range s {
		if len(v) != n {
			panic(fmt.Sprintf("kern: %s: lengths %d and %d differ", what, n, len(v)))
		}
	}
}

// ScaleShift writes y = x*scale + shift per channel, then max(y, 0) when
// relu is set: batch norm's application, fused with the ReLU after it.
// y may alias x.
func (e *Engine) ScaleShift(y, x, scale, shift []float32, relu bool) {
	c := len(scale)
	n := rows("ScaleShift", x, c)
	sameLen("ScaleShift", len(x), y)
	sameLen("ScaleShift", c, shift)
	if e.vecAVX(c) {
		e.be.scaleShift(&y[0], &x[0], &scale[0], &shift[0], nil, n, c, relu)
		return
	}
	for r := range n {
		xr, yr := x[r*c:(r+1)*c], y[r*c:(r+1)*c]
		for j, v := range xr {
			v = v*scale[j] + shift[j]
			if relu {
				v = max(v, 0)
			}
			yr[j] = v
		}
	}
}

// ScaleShiftAddReLU writes y = max(x*scale + shift + res, 0) per channel:
// the end of a residual block (batch norm, shortcut, ReLU) in one pass.
// y may alias x or res.
func (e *Engine) ScaleShiftAddReLU(y, x, res, scale, shift []float32) {
	c := len(scale)
	n := rows("ScaleShiftAddReLU", x, c)
	sameLen("ScaleShiftAddReLU", len(x), y, res)
	sameLen("ScaleShiftAddReLU", c, shift)
	if e.vecAVX(c) {
		e.be.scaleShift(&y[0], &x[0], &scale[0], &shift[0], &res[0], n, c, true)
		return
	}
	for r := range n {
		xr, yr, rr := x[r*c:(r+1)*c], y[r*c:(r+1)*c], res[r*c:(r+1)*c]
		for j, v := range xr {
			yr[j] = max(v*scale[j]+shift[j]+rr[j], 0)
		}
	}
}

// Affine2 writes y = u*ku + v*kv + bias per channel: batch norm's input
// gradient. y may alias u or v.
func (e *Engine) Affine2(y, u, v, ku, kv, bias []float32) {
	c := len(ku)
	n := rows("Affine2", u, c)
	sameLen("Affine2", len(u), y, v)
	sameLen("Affine2", c, kv, bias)
	if e.vecAVX(c) {
		e.be.affine2(&y[0], &u[0], &v[0], &ku[0], &kv[0], &bias[0], n, c)
		return
	}
	for r := range n {
		ur, vr, yr := u[r*c:(r+1)*c], v[r*c:(r+1)*c], y[r*c:(r+1)*c]
		for j := range yr {
			yr[j] = ur[j]*ku[j] + vr[j]*kv[j] + bias[j]
		}
	}
}

// ChannelSums adds to s the per-channel sums of x and to t those of
// (x-mean)² (t nil: sums only). Batch norm's statistics, a block of rows at
// a time; the caller keeps the totals in float64.
func (e *Engine) ChannelSums(s, t, x, mean []float32) {
	c := len(s)
	n := rows("ChannelSums", x, c)
	if t != nil {
		sameLen("ChannelSums", c, t, mean)
	}
	if e.vecAVX(c) {
		var tp, mp *float32
		if t != nil {
			tp, mp = &t[0], &mean[0]
		}
		e.be.channelSums(&s[0], tp, &x[0], mp, n, c)
		return
	}
	for r := range n {
		for j, v := range x[r*c : (r+1)*c] {
			s[j] += v
			if t != nil {
				d := v - mean[j]
				t[j] += d * d
			}
		}
	}
}

// ChannelDots adds to s the per-channel sums of dy and to t those of
// dy*(x-mean): batch norm's backward statistics, a block of rows at a time.
func (e *Engine) ChannelDots(s, t, dy, x, mean []float32) {
	c := len(s)
	n := rows("ChannelDots", dy, c)
	sameLen("ChannelDots", len(dy), x)
	sameLen("ChannelDots", c, t, mean)
	if e.vecAVX(c) {
		e.be.channelDots(&s[0], &t[0], &dy[0], &x[0], &mean[0], n, c)
		return
	}
	for r := range n {
		xr := x[r*c : (r+1)*c]
		for j, d := range dy[r*c : (r+1)*c] {
			s[j] += d
			t[j] += d * (xr[j] - mean[j])
		}
	}
}

// vecSplit is how many leading values of n the elementwise bodies take;
// Go does the rest.
func (e *Engine) vecSplit(n int) int {
	if e.be.lanes == 0 {
		return 0
	}
	return n - n%e.be.lanes
}

// ReLUMask writes dx = dy where y > 0, else 0: ReLU's backward from its
// output. dx may alias dy.
func (e *Engine) ReLUMask(dx, dy, y []float32) {
	sameLen("ReLUMask", len(dx), dy, y)
	k := e.vecSplit(len(dx))
	if k > 0 {
		e.be.reluMask(&dx[0], &dy[0], &y[0], k)
	}
	for i := k; i < len(dx); i++ {
		if y[i] > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// AddTo adds src into dst.
func (e *Engine) AddTo(dst, src []float32) {
	sameLen("AddTo", len(dst), src)
	k := e.vecSplit(len(dst))
	if k > 0 {
		e.be.addTo(&dst[0], &src[0], k)
	}
	for i := k; i < len(dst); i++ {
		dst[i] += src[i]
	}
}

// RouteMax gives a max pool's gradient to one tap of its windows: where x
// equals rem, the window maxima not yet given theirs, dst += dy and rem
// becomes NaN, which equals nothing. Offered the taps in order, each
// maximum's gradient goes to its first tap, as in PyTorch.
func (e *Engine) RouteMax(dst, x, rem, dy []float32) {
	sameLen("RouteMax", len(dst), x, rem, dy)
	k := e.vecSplit(len(dst))
	if k > 0 {
		e.be.routeMax(&dst[0], &x[0], &rem[0], &dy[0], k)
	}
	for i := k; i < len(dst); i++ {
		if x[i] == rem[i] {
			dst[i] += dy[i]
			rem[i] = float32(math.NaN())
		}
	}
}

// MaxTo sets dst = max(dst, src).
func (e *Engine) MaxTo(dst, src []float32) {
	sameLen("MaxTo", len(dst), src)
	k := e.vecSplit(len(dst))
	if k > 0 {
		e.be.maxTo(&dst[0], &src[0], k)
	}
	for i := k; i < len(dst); i++ {
		dst[i] = max(dst[i], src[i])
	}
}
