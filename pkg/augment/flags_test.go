package augment

import (
	"testing"

	"github.com/alecthomas/kong"
)

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		edit func(*Config)
	}{
		{nil, func(*Config) {}},
		{[]string{"--no-blur", "--hue=0.2", "--crop-scale-min=0.2", "--gray-p=0"}, func(c *Config) {
			c.Blur, c.Hue, c.ScaleMin, c.GrayP = false, 0.2, 0.2, 0
		}},
	} {
		var cli struct {
			Flags `embed:""`
		}
		p, err := kong.New(&cli, FlagVars())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		want := DefaultConfig()
		tc.edit(&want)
		if got := cli.Config(); got != want {
			t.Errorf("%v: %+v, want %+v", tc.args, got, want)
		}
	}
}
