// Package arrowiotest encodes arbitrary Arrow records as IPC, so that tests
// can feed the table readers what their writers refuse to make. It does not
// import arrowio, so arrowio's own tests can use it.
package arrowiotest

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
)

// Stream returns rec as an Arrow IPC stream.
func Stream(t testing.TB, rec arrow.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	write(t, ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema())), rec)
	return buf.Bytes()
}

// File returns rec as an Arrow IPC file.
func File(t testing.TB, rec arrow.Record) []byte {
	t.Helper()
	// The IPC file writer seeks, so it goes through a real file.
	f, err := os.CreateTemp(t.TempDir(), "raw")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, rec)
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func write(t testing.TB, w interface {
	Write(arrow.Record) error
	Close() error
}, rec arrow.Record) {
	t.Helper()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// Pipe hides every method of r but Read, as a pipe would, so that readers
// take the path of non-seekable input.
func Pipe(r io.Reader) io.Reader { return pipe{r} }

type pipe struct{ io.Reader }
