package arrowio

import (
	"math"
	"strings"
	"testing"
)

func TestChannelStats(t *testing.T) {
	// Two images: red 0 and 255 (mean 0.5, std 0.5), green 51 everywhere
	// (0.2, 0), blue half 0 and half 255 in each image.
	px := make([]uint8, 2*ImageSize)
	for i := range 2 {
		img := px[i*ImageSize : (i+1)*ImageSize]
		for j := range 1024 {
			img[j] = uint8(255 * i)
			img[1024+j] = 51
			if j < 512 {
				img[2048+j] = 255
			}
		}
	}
	var s ChannelStats
	s.Add(px)
	mean, std := s.MeanStd()
	want := [2][3]float64{{0.5, 0.2, 0.5}, {0.5, 0, 0.5}}
	for c := range 3 {
		if math.Abs(mean[c]-want[0][c]) > 1e-12 || math.Abs(std[c]-want[1][c]) > 1e-7 {
			t.Errorf("channel %d: mean %g std %g, want %g %g", c, mean[c], std[c], want[0][c], want[1][c])
		}
	}
	md := map[string]string{}
	s.SetMeta(md)
	if md[MetaChannelMean] != "[0.500000,0.200000,0.500000]" {
		t.Errorf("channel_mean %q", md[MetaChannelMean])
	}
	// The constant green channel is recorded with one grey level, so that
	// the statistics normalise.
	if md[MetaChannelStd] != "[0.500000,0.003922,0.500000]" {
		t.Errorf("channel_std %q", md[MetaChannelStd])
	}
	if _, _, ok, err := Normalization(md); !ok || err != nil {
		t.Errorf("Normalization of SetMeta's statistics: ok %v, err %v", ok, err)
	}
	md[MetaChannelStd] = "[0.5,0.25,0.5]"
	m, sd, ok, err := Normalization(md)
	if err != nil || !ok || m != [3]float32{0.5, 0.2, 0.5} || sd != [3]float32{0.5, 0.25, 0.5} {
		t.Errorf("Normalization = %v %v %v %v", m, sd, ok, err)
	}
	if _, _, ok, err := Normalization(map[string]string{}); ok || err != nil {
		t.Errorf("no statistics: ok %v err %v", ok, err)
	}
	for _, bad := range []map[string]string{
		{MetaChannelMean: "[0.5,0.5]", MetaChannelStd: "[1,1,1]"},
		{MetaChannelMean: "[0.5,0.5,0.5]", MetaChannelStd: "[1,0,1]"},
		{MetaChannelMean: "[0.5,0.5,0.5]"},
	} {
		if _, _, _, err := Normalization(bad); err == nil || !strings.Contains(err.Error(), "metadata") {
			t.Errorf("Normalization(%v) err = %v", bad, err)
		}
	}
}
