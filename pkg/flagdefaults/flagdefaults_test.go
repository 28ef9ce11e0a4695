package flagdefaults

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

type cli struct {
	Input    string  `required:"" help:"Required: --print-defaults works without it."`
	Epochs   int     `default:"${epochs}" help:"Interpolated."`
	LR       float64 `name:"lr" default:"0.1"`
	Dir      string  `default:"runs/it's here"`
	Empty    string  `default:""`
	NoDflt   int
	Standard bool `default:"true" negatable:""`

	PrintDefaults Flag `help:"Print the defaults."`
}

func parse(t *testing.T, args ...string) (*cli, string, error) {
	t.Helper()
	var c cli
	var out bytes.Buffer
	p, err := kong.New(&c, kong.Vars{"epochs": "90"}, kong.Writers(&out, &out))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Parse(args)
	return &c, out.String(), err
}

func TestPrintDefaults(t *testing.T) {
	_, out, err := parse(t, "--print-defaults")
	if !errors.Is(err, ErrPrinted) {
		t.Fatalf("Parse: %v, want ErrPrinted", err)
	}
	want := "EPOCHS=90\nLR=0.1\nDIR='runs/it'\\''s here'\nEMPTY=''\nSTANDARD=true\n"
	if out != want {
		t.Errorf("printed\n%s\nwant\n%s", out, want)
	}
	// What it prints is shell: sourced, it sets the variables to the defaults.
	if _, err := exec.LookPath("bash"); err == nil {
		got, err := exec.Command("bash", "-c", out+`printf '%s|' "$EPOCHS" "$LR" "$DIR" "$EMPTY" "$STANDARD"`).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "90|0.1|runs/it's here||true|" {
			t.Errorf("sourced by bash: %q", got)
		}
	}
	// Without the flag nothing is printed and the flags are checked.
	if _, out, err := parse(t); err == nil || !strings.Contains(err.Error(), "--input") || out != "" {
		t.Errorf("without --print-defaults: %v, printed %q", err, out)
	}
}

func TestQuote(t *testing.T) {
	for s, want := range map[string]string{"runs/pretrain": "runs/pretrain", "3e-4": "3e-4", "": "''", "a b": "'a b'", "$x": "'$x'"} {
		if got := Quote(s); got != want {
			t.Errorf("Quote(%q) = %s, want %s", s, got, want)
		}
	}
}
