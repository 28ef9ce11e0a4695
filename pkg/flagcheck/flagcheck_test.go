package flagcheck

import (
	"math"
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name string
		fill func(*Set)
		want string // "" for no error
	}{
		{"int in range", func(s *Set) { s.Int("batch", 256, 1, MaxBatch) }, ""},
		{"int zero", func(s *Set) { s.Int("save-every", 0, 1, MaxEpochs) }, "--save-every 0: want 1 to 100000"},
		{"int negative unbounded", func(s *Set) { s.Int("limit", -1, 0, math.MaxInt) }, "--limit -1: want at least 0"},
		{"int absurd", func(s *Set) { s.Int("epochs", 1e9, 1, MaxEpochs) }, "--epochs 1000000000"},
		{"float in range", func(s *Set) { s.Float("lr", 3e-4, 0, 10, true) }, ""},
		{"float lo closed", func(s *Set) { s.Float("momentum", 0, 0, 1, false) }, ""},
		{"float lo open", func(s *Set) { s.Float("tau", 0, 0, 100, true) }, "--tau 0: want above 0, at most 100"},
		{"float NaN", func(s *Set) { s.Float("lr", math.NaN(), 0, 10, true) }, "--lr NaN"},
		{"float Inf", func(s *Set) { s.Float("lr", math.Inf(1), 0, 10, true) }, "--lr +Inf"},
		{"float too big", func(s *Set) { s.Float("momentum", 1.5, 0, 1, false) }, "--momentum 1.5: want 0 to 1"},
		{"several", func(s *Set) { s.Int("a", 0, 1, 2); s.Int("b", 0, 1, 2) }, "--a 0: want 1 to 2\n--b 0"},
	} {
		var s Set
		tc.fill(&s)
		err := s.Err()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want no error", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
