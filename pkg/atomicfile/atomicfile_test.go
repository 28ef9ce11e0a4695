package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entries lists dir's file names, so tests can see stray temporary files.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestCommitAndAbort(t *testing.T) {
	tests := []struct {
		name     string
		existing string // "" means no file at the target beforehand
		commit   bool
		want     string // target's contents afterwards; "" means absent
	}{
		{"commit new", "", true, "new"},
		{"commit replaces", "old", true, "new"},
		{"abort new", "", false, ""},
		{"abort keeps old", "old", false, "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.bin")
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Abort()
			if _, err := f.WriteString("new"); err != nil {
				t.Fatal(err)
			}
			if tt.commit {
				if err := f.Commit(); err != nil {
					t.Fatal(err)
				}
			} else {
				f.Abort()
			}
			got, err := os.ReadFile(path)
			switch {
			case tt.want == "" && !os.IsNotExist(err):
				t.Fatalf("target exists (err=%v), want none", err)
			case tt.want != "" && string(got) != tt.want:
				t.Fatalf("target = %q (err=%v), want %q", got, err, tt.want)
			}
			names := entries(t, dir)
			if len(names) > 1 || (len(names) == 1 && names[0] != "out.bin") {
				t.Errorf("directory holds %v, want at most out.bin", names)
			}
			if tt.commit {
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o644 {
					t.Errorf("mode = %v, want 0644", st.Mode().Perm())
				}
				if err := f.Commit(); err == nil {
					t.Error("second Commit succeeded")
				}
			}
		})
	}
}

func TestCreateInMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "out.bin")
	_, err := Create(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want an error naming %s", err, path)
	}
}

func TestCommitFailureRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	// A directory at the target makes the final rename fail.
	target := filepath.Join(dir, "out.bin")
	if err := os.Mkdir(filepath.Join(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil || !strings.Contains(err.Error(), target) {
		t.Fatalf("Commit err = %v, want an error naming %s", err, target)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v, want only out.bin", names)
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	if err := WriteJSON(path, map[string]int{"top1": 49}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"top1\": 49\n}\n"; string(got) != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
	if err := WriteJSON(path, func() {}); err == nil {
		t.Fatal("no error for a value JSON cannot encode")
	}
	if got2, _ := os.ReadFile(path); string(got2) != string(got) {
		t.Fatal("a failed write replaced the file")
	}
}

// A temporary left by a dead writer is removed; a live writer's, one of
// another target and other files are kept.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".simclr_epoch002.safetensors.tmp-123") // a killed writer's: no lock
	write(".train.arrow.tmp-456")                 // another target's
	write("simclr_epoch001.safetensors")
	live, err := Create(filepath.Join(dir, "simclr_epoch003.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	removed, err := RemoveStale(dir, "simclr_epoch*.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, ".simclr_epoch002.safetensors.tmp-123"); len(removed) != 1 || removed[0] != want {
		t.Errorf("removed %q, want just %s", removed, want)
	}
	got := strings.Join(entries(t, dir), " ")
	for _, keep := range []string{".train.arrow.tmp-456", "simclr_epoch001.safetensors", filepath.Base(live.Name())} {
		if !strings.Contains(got, keep) {
			t.Errorf("%s removed; left %s", keep, got)
		}
	}
	if _, err := live.WriteString("data"); err != nil {
		t.Fatal(err)
	}
	if err := live.Commit(); err != nil {
		t.Fatalf("the live writer's commit: %v", err)
	}
}

// Clean removes each output's stale temporaries, says so, and skips "" and
// "-".
func TestClean(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".a.json.tmp-1", ".b.png.tmp-2", ".c.txt.tmp-3"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log strings.Builder
	if err := Clean(&log, "tool", filepath.Join(dir, "a.json"), "", "-", filepath.Join(dir, "b.png")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(entries(t, dir), " "); got != ".c.txt.tmp-3" {
		t.Errorf("left %q, want just .c.txt.tmp-3", got)
	}
	if want := "tool: removed " + filepath.Join(dir, ".a.json.tmp-1") + ", left by a run that was killed\n"; !strings.HasPrefix(log.String(), want) || strings.Count(log.String(), "\n") != 2 {
		t.Errorf("log %q, want two lines starting %q", log.String(), want)
	}
}
