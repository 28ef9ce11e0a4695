package arrowio

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Schema metadata keys of the per-channel pixel statistics of a table:
// JSON lists of the red, green and blue mean and standard deviation of the
// pixel values scaled to [0, 1], over every pixel of the table. Training
// normalises with those of its training table.
const (
	MetaChannelMean = "channel_mean"
	MetaChannelStd  = "channel_std"
)

// ChannelStats accumulates the per-channel statistics of images.
type ChannelStats struct {
	hist [Channels][256]int64
}

// Add counts the pixels of whole CHW images, back to back.
func (s *ChannelStats) Add(pixels []uint8) {
	plane := Height * Width
	for off := 0; off+ImageSize <= len(pixels); off += ImageSize {
		for c := range Channels {
			h := &s.hist[c]
			for _, v := range pixels[off+c*plane : off+(c+1)*plane] {
				h[v]++
			}
		}
	}
}

// MeanStd returns each channel's mean and (population) standard deviation
// of the values v/255.
func (s *ChannelStats) MeanStd() (mean, std [Channels]float64) {
	for c := range Channels {
		var n, sum, sq float64
		for v, k := range s.hist[c] {
			x := float64(v) / 255
			n += float64(k)
			sum += float64(k) * x
			sq += float64(k) * x * x
		}
		if n > 0 {
			mean[c] = sum / n
			std[c] = math.Sqrt(max(sq/n-mean[c]*mean[c], 0))
		}
	}
	return mean, std
}

// MinStd is the least standard deviation SetMeta records: one grey level, so
// that a constant channel normalises to finite values.
const MinStd = 1.0 / 255

// SetMeta records the statistics in table metadata md, each standard
// deviation at least MinStd.
func (s *ChannelStats) SetMeta(md map[string]string) {
	mean, std := s.MeanStd()
	for c := range std {
		std[c] = max(std[c], MinStd)
	}
	md[MetaChannelMean], md[MetaChannelStd] = floatList(mean), floatList(std)
}

func floatList(v [Channels]float64) string {
	b := []byte{'['}
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, x, 'f', 6, 64)
	}
	return string(append(b, ']'))
}

// Normalization returns the per-channel mean and standard deviation
// recorded in table metadata md, and whether it has them.
func Normalization(md map[string]string) (mean, std [Channels]float32, ok bool, err error) {
	rm, ok1 := md[MetaChannelMean]
	rs, ok2 := md[MetaChannelStd]
	if !ok1 && !ok2 {
		return mean, std, false, nil
	}
	for _, f := range []struct {
		key, raw string
		dst      *[Channels]float32
	}{{MetaChannelMean, rm, &mean}, {MetaChannelStd, rs, &std}} {
		var v []float32
		if err := json.Unmarshal([]byte(f.raw), &v); err != nil || len(v) != Channels {
			return mean, std, false, fmt.Errorf("metadata %s %q: want a JSON list of %d numbers", f.key, f.raw, Channels)
		}
		copy(f.dst[:], v)
	}
	for c := range Channels {
		if !(std[c] > 0) || !(mean[c] >= 0 && mean[c] <= 1) {
			return mean, std, false, fmt.Errorf("metadata channel %d: mean %g, std %g: want a mean in [0, 1] and a std above 0", c, mean[c], std[c])
		}
	}
	return mean, std, true, nil
}
