package kern

import (
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	zen5 := &Backend{Name: "avx512", NativeBF16: true, FastBF16: true}
	spr := &Backend{Name: "avx512", NativeBF16: true}
	avx2 := &Backend{Name: "avx2"}
	for _, c := range []struct {
		b         *Backend
		requested string
		want      Precision
		note      string // a substring of the note; "" for none
	}{
		{zen5, "auto", BF16, "precision auto: bf16, the avx512 backend's VDPBF16PS does twice"},
		{zen5, "bf16", BF16, ""},
		{zen5, "fp32", FP32, ""},
		{spr, "auto", FP32, "precision auto: fp32, the avx512 backend's VDPBF16PS runs at half"},
		{spr, "bf16", BF16, "warning: bf16 runs slower than fp32 here"},
		{avx2, "", FP32, "precision auto: fp32, the avx2 backend has no bf16 instructions"},
		{avx2, "bf16", BF16, "warning: bf16 runs slower"},
		{generic, "auto", FP32, "generic backend has no bf16"},
	} {
		p, note, err := c.b.Choose(c.requested)
		if err != nil || p != c.want || (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("%+v.Choose(%q) = %q, %q, %v; want %q and a note with %q", *c.b, c.requested, p, note, err, c.want, c.note)
		}
	}
	if _, _, err := avx2.Choose("fp16"); err == nil || !strings.Contains(err.Error(), `"fp16"`) {
		t.Errorf("Choose(fp16): err %v, want one naming it", err)
	}
}

func TestNew(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want *Backend
		err  string // a substring of the error; "" for none
	}{
		{Options{Backend: "generic", Threads: 3}, generic, ""},
		{Options{}, backends[0], ""},
		{Options{Backend: "auto", Precision: "fp32"}, backends[0], ""},
		{Options{Backend: "amx"}, nil, "available: "},
		{Options{Threads: -1}, nil, "threads -1"},
		{Options{Precision: "fp16"}, nil, `"fp16"`},
	} {
		e, _, err := New(c.o)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("New(%+v): err %v, want one with %q", c.o, err, c.err)
			}
			continue
		}
		if err != nil || e.Backend() != c.want || (c.o.Threads > 0 && e.Threads() != c.o.Threads) || e.Threads() < 1 {
			t.Errorf("New(%+v) = %s on %d threads, %v; want %s", c.o, e.Backend().Name, e.Threads(), err, c.want.Name)
		}
	}
}
