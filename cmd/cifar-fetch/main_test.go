package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/tests/toolbin"
)

// perMember records per data file: train spans two record batches.
const perMember = 220

// A synthetic archive shared by the tests, and its MD5 table.
var (
	members = cifartest.Members(perMember)
	archive = cifartest.Archive(members...)
	sums    = cifartest.Sums(members)
)

// helperEnv, when set, makes the test binary act as cifar-fetch with the
// per-file MD5 table it holds (JSON), so tests can check exit codes and
// stdout of the real main path.
const helperEnv = "CIFAR_FETCH_TEST_SUMS"

func TestMain(m *testing.M) {
	if s := os.Getenv(helperEnv); s != "" {
		var sums map[string]string
		if err := json.Unmarshal([]byte(s), &sums); err != nil {
			panic(err)
		}
		if err := run(os.Args[1:], sums); err != nil {
			os.Stderr.WriteString(tool + ": " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	toolbin.Clean()
	os.Exit(code)
}

// command runs the test binary as cifar-fetch.
func command(t *testing.T, sums map[string]string, args ...string) *exec.Cmd {
	t.Helper()
	js, err := json.Marshal(sums)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+string(js))
	return cmd
}

func writeArchive(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cifar-10-binary.tar.gz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readTable reads a whole image table.
func readTable(t *testing.T, path string) (arrowio.ImageBatch, map[string]string) {
	t.Helper()
	return cifartest.ReadTable(t, path)
}

// checkSynthetic checks a table made from the synthetic archive.
func checkSynthetic(t *testing.T, path string, split cifar.Split) map[string]string {
	t.Helper()
	b, md := readTable(t, path)
	want := map[cifar.Split]int{cifar.Train: 5 * perMember, cifar.Test: perMember}[split]
	if b.Len() != want {
		t.Fatalf("%s: %d rows, want %d", path, b.Len(), want)
	}
	for i := range b.Len() {
		if b.Index[i] != int32(i) || b.Label[i] != cifartest.Label(i) || b.Image(i)[1234] != cifartest.Pixel(i, 1234) {
			t.Fatalf("%s: row %d differs from the archive", path, i)
		}
	}
	if md[arrowio.MetaSplit] != string(split) || md[arrowio.MetaProducer] != "cifar-fetch 0.1.0" {
		t.Errorf("%s: metadata %v", path, md)
	}
	return md
}

func TestConvertLocalArchive(t *testing.T) {
	src := writeArchive(t, archive)
	out := filepath.Join(t.TempDir(), "data")
	if err := run([]string{"--archive", src, "--out-dir", out, "-q"}, sums); err != nil {
		t.Fatal(err)
	}
	if got := toolbin.Names(t, out); !slices.Equal(got, []string{"test.arrow", "train.arrow"}) {
		t.Fatalf("out dir holds %v", got)
	}
	sha := sha256.Sum256(archive)
	for _, s := range cifar.Splits {
		md := checkSynthetic(t, filepath.Join(out, string(s)+".arrow"), s)
		if md[arrowio.MetaSource] != "cifar-10-binary.tar.gz" || md[arrowio.MetaSourceSHA256] != hex.EncodeToString(sha[:]) {
			t.Errorf("%s: source metadata %q %q", s, md[arrowio.MetaSource], md[arrowio.MetaSourceSHA256])
		}
	}
	checkWithArrowJS(t, filepath.Join(out, "test.arrow"), perMember, "test")
}

// TestTensorExtension: --tensor-extension marks the image column as the
// canonical tensor type, which our readers and Arrow JS take too.
func TestTensorExtension(t *testing.T) {
	src := writeArchive(t, archive)
	out := t.TempDir()
	if err := run([]string{"--archive", src, "--out-dir", out, "--split", "test", "--tensor-extension", "-q"}, sums); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, "test.arrow")
	checkSynthetic(t, path, cifar.Test)
	r, err := arrowio.OpenImages(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !arrowio.IsTensorSchema(r.Schema()) {
		t.Errorf("%s: image column not marked as %s", path, arrowio.TensorExtensionName)
	}
	checkWithJS(t, path, perMember, "test", true)
}

func TestArchiveFromEnvironment(t *testing.T) {
	t.Setenv("CIFAR10_ARCHIVE", writeArchive(t, archive))
	out := t.TempDir()
	if err := run([]string{"--out-dir", out, "--split", "test", "-q"}, sums); err != nil {
		t.Fatal(err)
	}
	if got := toolbin.Names(t, out); !slices.Equal(got, []string{"test.arrow"}) {
		t.Fatalf("out dir holds %v, want test.arrow only", got)
	}
}

func TestExistingOutputsKeptUnlessForce(t *testing.T) {
	src := writeArchive(t, archive)
	out := t.TempDir()
	train := filepath.Join(out, "train.arrow")
	if err := os.WriteFile(train, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"--archive", src, "--out-dir", out, "-q"}, sums); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(train); string(b) != "keep me" {
		t.Fatal("existing train.arrow was overwritten without --force")
	}
	checkSynthetic(t, filepath.Join(out, "test.arrow"), cifar.Test)
	if err := run([]string{"--archive", src, "--out-dir", out, "-q", "--force"}, sums); err != nil {
		t.Fatal(err)
	}
	checkSynthetic(t, train, cifar.Train)
}

func TestDownload(t *testing.T) {
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write(archive)
	}))
	defer ts.Close()
	args := []string{"--url", ts.URL + "/mirror/cifar-10-binary.tar.gz", "--cache-dir", t.TempDir(), "--out-dir", t.TempDir(), "-q", "--force"}
	for range 2 {
		if err := run(args, sums); err != nil {
			t.Fatal(err)
		}
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests for two runs, want 1: the second must use the cache", n)
	}
	out := args[len(args)-3]
	md := checkSynthetic(t, filepath.Join(out, "train.arrow"), cifar.Train)
	if md[arrowio.MetaSource] != args[1] {
		t.Errorf("source = %q, want the URL", md[arrowio.MetaSource])
	}
}

func TestBadInputLeavesNothing(t *testing.T) {
	cut := writeArchive(t, archive[:len(archive)*2/3])
	good := writeArchive(t, archive)
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	for _, tt := range []struct {
		name string
		args []string
		sums map[string]string
		want string
	}{
		{"official MD5s reject synthetic data", []string{"--archive", good}, cifar.OfficialMD5,
			good + ": data_batch_1.bin: MD5 "},
		{"truncated archive", []string{"--archive", cut}, sums, cut + ": data_batch_4.bin: truncated archive: unexpected EOF"},
		{"missing archive", []string{"--archive", good + ".nope"}, sums, "open " + good + ".nope: no such file or directory"},
		{"output dir under a file", []string{"--archive", good, "--out-dir", filepath.Join(notDir, "data")}, sums, "output directory: mkdir " + notDir},
		{"-o needs one split", []string{"--archive", good, "-o", "x.arrow"}, sums, "-o writes one split"},
		{"bad split", []string{"--archive", good, "--split", "val"}, sums, "--split must be one of"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			// A case's own --out-dir comes later and wins.
			cmd := command(t, tt.sums, append([]string{"--out-dir", out}, tt.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit code %d (%v), want 1", code, err)
			}
			if msg := stderr.String(); !strings.Contains(msg, "cifar-fetch: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("stderr %q, want it to contain %q", msg, tt.want)
			}
			if got := toolbin.Names(t, out); len(got) != 0 {
				t.Errorf("output left behind: %v", got)
			}
		})
	}
}

func TestStreamToStdout(t *testing.T) {
	cmd := command(t, sums, "--archive", writeArchive(t, archive), "--split", "train", "-o", "-", "-q")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if bytes.HasPrefix(stdout.Bytes(), []byte("ARROW1")) {
		t.Fatal("stdout holds an IPC file, want a stream")
	}
	path := filepath.Join(t.TempDir(), "train.arrows")
	os.WriteFile(path, stdout.Bytes(), 0o644)
	checkSynthetic(t, path, cifar.Train)
}

func TestHelp(t *testing.T) {
	out, err := command(t, sums, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, flag := range []string{"--archive", "--url", "--cache-dir", "--out-dir", "--split", "--output", "--force", "--quiet", "$CIFAR10_ARCHIVE"} {
		if !bytes.Contains(out, []byte(flag)) {
			t.Errorf("--help does not mention %s", flag)
		}
	}
}

// A temporary table that a killed cifar-fetch left is removed at the next
// start, also when the table itself is then kept; other files stay.
func TestRemovesStaleTemporaries(t *testing.T) {
	src, out := writeArchive(t, archive), t.TempDir()
	stale := []string{filepath.Join(out, ".train.arrow.tmp-1"), filepath.Join(out, ".test.arrow.tmp-2")}
	other := filepath.Join(out, ".notes.tmp-3")
	for _, p := range append(stale, other) {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(out, "test.arrow"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"--archive", src, "--out-dir", out, "-q"}, sums); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("%s removed: %v", other, err)
	}
}
