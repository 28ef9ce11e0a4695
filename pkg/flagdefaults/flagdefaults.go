// Package flagdefaults gives a kong command line a --print-defaults flag,
// which prints the default of every flag as a shell assignment, so that a
// script can take a tool's defaults from the tool instead of copying them:
//
//	$ pretrain --print-defaults
//	EPOCHS=100
//	WARMUP_EPOCHS=10
//	...
package flagdefaults

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/alecthomas/kong"
)

// ErrPrinted is what Parse returns once Flag has printed the defaults: the
// command has done its work and should exit with status 0, as after
// flag.ErrHelp.
var ErrPrinted = errors.New("printed the defaults")

// Flag is --print-defaults, for a kong CLI struct:
//
//	PrintDefaults flagdefaults.Flag `help:"..."`
//
// Given, it writes the defaults to the application's standard output
// (kong.Writers) and Parse returns ErrPrinted, before any other flag is
// applied or checked, so that it works without the required ones.
type Flag bool

// BeforeReset is kong's hook: it runs before the flags' values are set.
func (Flag) BeforeReset(app *kong.Kong) error {
	if err := Write(app.Stdout, app.Model); err != nil {
		return err
	}
	return ErrPrinted
}

// Write writes the default of each of app's flags that has one, in order,
// as NAME=value: NAME is the flag's name in capitals with _ for -
// (--warmup-epochs is WARMUP_EPOCHS), value its default as the help shows
// it, quoted for the shell where need be.
func Write(w io.Writer, app *kong.Application) error {
	for _, f := range app.Flags {
		if !f.HasDefault {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if _, err := fmt.Fprintf(w, "%s=%s\n", name, Quote(f.Default)); err != nil {
			return err
		}
	}
	return nil
}

// Quote returns s as one shell word: as it is when it holds only letters,
// digits and _./+-,: and is not empty, else in single quotes.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+-,:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
