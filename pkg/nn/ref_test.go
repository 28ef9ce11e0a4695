package nn

import "math"

// Float64 reference forwards: plain loops, slow and obviously right, used for
// the finite-difference gradient checks. Layouts are NHWC as in the package.

// refConv: x [n][H][W][Cin], w [cout][K][K][Cin] -> [n][OH][OW][cout].
func refConv(x, w []float64, in Dims, n, cout int, win Window) []float64 {
	oh, ow := win.out(in.H), win.out(in.W)
	y := make([]float64, n*oh*ow*cout)
	for i := range n {
		for p := range oh {
			for q := range ow {
				for o := range cout {
					var s float64
					for kh := range win.K {
						for kw := range win.K {
							ih, iw := p*win.Stride-win.Pad+kh, q*win.Stride-win.Pad+kw
							if ih < 0 || ih >= in.H || iw < 0 || iw >= in.W {
								continue
							}
							for c := range in.C {
								s += x[((i*in.H+ih)*in.W+iw)*in.C+c] * w[((o*win.K+kh)*win.K+kw)*in.C+c]
							}
						}
					}
					y[((i*oh+p)*ow+q)*cout+o] = s
				}
			}
		}
	}
	return y
}

// refBN: x [rows][c]; with mean and variance nil it uses the biased batch
// statistics (training mode), else the given running ones (eval mode).
func refBN(x, gamma, beta []float64, rows, c int, mean, variance []float64) []float64 {
	if mean == nil {
		mean, variance = make([]float64, c), make([]float64, c)
		for r := range rows {
			for j := range c {
				mean[j] += x[r*c+j] / float64(rows)
			}
		}
		for r := range rows {
			for j := range c {
				d := x[r*c+j] - mean[j]
				variance[j] += d * d / float64(rows)
			}
		}
	}
	y := make([]float64, len(x))
	for r := range rows {
		for j := range c {
			y[r*c+j] = (x[r*c+j]-mean[j])/math.Sqrt(variance[j]+1e-5)*gamma[j] + beta[j]
		}
	}
	return y
}

// refMaxPool: x [n][H][W][C] -> [n][OH][OW][C].
func refMaxPool(x []float64, in Dims, n int, win Window) []float64 {
	oh, ow := win.out(in.H), win.out(in.W)
	y := make([]float64, n*oh*ow*in.C)
	for i := range n {
		for p := range oh {
			for q := range ow {
				for c := range in.C {
					m := math.Inf(-1)
					for kh := range win.K {
						for kw := range win.K {
							ih, iw := p*win.Stride-win.Pad+kh, q*win.Stride-win.Pad+kw
							if ih >= 0 && ih < in.H && iw >= 0 && iw < in.W {
								m = math.Max(m, x[((i*in.H+ih)*in.W+iw)*in.C+c])
							}
						}
					}
					y[((i*oh+p)*ow+q)*in.C+c] = m
				}
			}
		}
	}
	return y
}

// refAvgPool: x [n][hw][c] -> [n][c].
func refAvgPool(x []float64, n, hw, c int) []float64 {
	y := make([]float64, n*c)
	for i := range n {
		for p := range hw {
			for j := range c {
				y[i*c+j] += x[(i*hw+p)*c+j] / float64(hw)
			}
		}
	}
	return y
}

// refLinear: x [n][in], w [out][in], b [out] -> [n][out].
func refLinear(x, w, b []float64, n, in, out int) []float64 {
	y := make([]float64, n*out)
	for i := range n {
		for o := range out {
			s := b[o]
			for j := range in {
				s += x[i*in+j] * w[o*in+j]
			}
			y[i*out+o] = s
		}
	}
	return y
}

func refReLU(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Max(v, 0)
	}
	return y
}

// refBlock: a training-mode BasicBlock; p in the order of BasicBlock.Params.
func refBlock(x []float64, p [][]float64, in Dims, n, planes, stride int) []float64 {
	out := Dims{H: (in.H-1)/stride + 1, W: (in.W-1)/stride + 1, C: planes}
	rows := n * out.H * out.W
	h := refConv(x, p[0], in, n, planes, Window{K: 3, Stride: stride, Pad: 1})
	h = refReLU(refBN(h, p[1], p[2], rows, planes, nil, nil))
	h = refConv(h, p[3], out, n, planes, Window{K: 3, Stride: 1, Pad: 1})
	h = refBN(h, p[4], p[5], rows, planes, nil, nil)
	shortcut := x
	if len(p) > 6 {
		shortcut = refConv(x, p[6], in, n, planes, Window{K: 1, Stride: stride})
		shortcut = refBN(shortcut, p[7], p[8], rows, planes, nil, nil)
	}
	for i := range h {
		h[i] += shortcut[i]
	}
	return refReLU(h)
}
