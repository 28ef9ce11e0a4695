package augment

import "fmt"

// CIFAR-10 per-channel mean and standard deviation of pixel values in [0, 1].
var (
	CIFAR10Mean = [Channels]float32{0.4914, 0.4822, 0.4465}
	CIFAR10Std  = [Channels]float32{0.2470, 0.2435, 0.2616}
)

// ToNHWC converts uint8 CHW images, any number back to back, to float32 HWC
// (NHWC for a batch) normalised per channel: (v/255 - mean[c]) / std[c].
func ToNHWC(dst []float32, src []uint8, mean, std [Channels]float32) {
	if len(src)%ImageLen != 0 || len(dst) != len(src) {
		panic(fmt.Sprintf("augment: ToNHWC of %d bytes into %d floats: want whole images and equal lengths", len(src), len(dst)))
	}
	var lut [Channels][256]float32
	for c := range lut {
		for v := range lut[c] {
			lut[c][v] = (float32(v)/255 - mean[c]) / std[c]
		}
	}
	for n := 0; n < len(src); n += ImageLen {
		img, out := src[n:n+ImageLen], dst[n:n+ImageLen]
		for c := range Channels {
			plane := img[c*Plane : (c+1)*Plane]
			for i, v := range plane {
				out[i*Channels+c] = lut[c][v]
			}
		}
	}
}
