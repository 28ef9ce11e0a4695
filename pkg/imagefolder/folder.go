// Package imagefolder turns a folder of PNG and JPEG images into image-table
// rows (see pkg/arrowio): each image converted to RGB, resized and
// centre-cropped to 32×32 as torchvision's Resize(32) + CenterCrop(32) do
// (Pillow's bilinear filter), in CHW order. Classes come from one level of
// subfolders, as torchvision's ImageFolder finds them; a folder with no
// subfolders holds unlabelled images.
package imagefolder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/simclr-go/simclr/pkg/arrowio"
)

// File is one image of a listing.
type File struct {
	Rel   string // path below the folder, slash-separated
	Label uint8
}

// Listing is what Scan found in a folder.
type Listing struct {
	// Classes are the subfolders' names, sorted; nil for a flat folder of
	// unlabelled images.
	Classes []string
	Files   []File
	// Ignored counts the files passed over: not .png, .jpg or .jpeg (any
	// case), hidden, or at the top of a folder with class subfolders.
	Ignored int
}

// IsImage reports whether name has an extension this package decodes.
func IsImage(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// Scan lists the images of dir in torchvision's order: classes sorted by
// name, and within a class the folders of its tree sorted by path, the files
// of each sorted by name. Names are compared as bytes. Entries whose names
// start with "." are skipped. A class without images is an error, as in
// torchvision.
func Scan(dir string) (Listing, error) {
	var l Listing
	des, err := os.ReadDir(dir)
	if err != nil {
		return l, err
	}
	var top []string
	for _, de := range des {
		switch {
		case strings.HasPrefix(de.Name(), "."):
			l.Ignored += boolInt(!de.IsDir())
		case isDir(dir, de):
			l.Classes = append(l.Classes, de.Name())
		default:
			top = append(top, de.Name())
		}
	}
	if l.Classes == nil {
		for _, name := range top {
			if IsImage(name) {
				l.Files = append(l.Files, File{Rel: name})
			} else {
				l.Ignored++
			}
		}
		if len(l.Files) == 0 {
			return l, fmt.Errorf("%s: no .png, .jpg or .jpeg files, and no class subfolders", dir)
		}
		return l, nil
	}
	l.Ignored += len(top)
	if len(l.Classes) > arrowio.MaxClasses {
		return l, fmt.Errorf("%s: %d class subfolders, at most %d fit a uint8 label", dir, len(l.Classes), arrowio.MaxClasses)
	}
	slices.Sort(l.Classes) // ReadDir sorts already; say so here
	for c, class := range l.Classes {
		files, ignored, err := walkClass(dir, class)
		if err != nil {
			return l, err
		}
		if len(files) == 0 {
			return l, fmt.Errorf("%s: class folder %q holds no .png, .jpg or .jpeg files", dir, class)
		}
		for _, f := range files {
			l.Files = append(l.Files, File{Rel: f, Label: uint8(c)})
		}
		l.Ignored += ignored
	}
	return l, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isDir follows symbolic links, as torchvision's os.scandir(...).is_dir() does.
func isDir(dir string, de fs.DirEntry) bool {
	if de.Type()&fs.ModeSymlink == 0 {
		return de.IsDir()
	}
	st, err := os.Stat(filepath.Join(dir, de.Name()))
	return err == nil && st.IsDir()
}

// walkClass lists the images under dir/class, as slash-separated paths
// below dir: the folders sorted by path, each one's files by name.
func walkClass(dir, class string) (files []string, ignored int, err error) {
	type folder struct {
		rel   string
		files []string
	}
	var folders []folder
	var walk func(rel string) error
	walk = func(rel string) error {
		des, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		f := folder{rel: rel}
		for _, de := range des {
			full := filepath.Join(dir, filepath.FromSlash(rel))
			switch {
			case strings.HasPrefix(de.Name(), "."):
				ignored += boolInt(!de.IsDir())
			case isDir(full, de):
				if err := walk(rel + "/" + de.Name()); err != nil {
					return err
				}
			case IsImage(de.Name()):
				f.files = append(f.files, rel+"/"+de.Name())
			default:
				ignored++
			}
		}
		folders = append(folders, f)
		return nil
	}
	if err := walk(class); err != nil {
		return nil, 0, err
	}
	slices.SortFunc(folders, func(a, b folder) int { return strings.Compare(a.rel, b.rel) })
	for _, f := range folders {
		files = append(files, f.files...)
	}
	return files, ignored, nil
}

// Load reads the image file at path and returns its 32×32 CHW pixels.
func Load(path string) ([]uint8, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dy() == 0 {
		return nil, fmt.Errorf("%s: empty image", path)
	}
	pixels := make([]uint8, arrowio.ImageSize)
	ToCHW(pixels, img)
	return pixels, nil
}

// Digest returns the hex SHA-256 that identifies the listing's sources: for
// each file in order, its path below dir, a NUL byte, and the SHA-256 of its
// bytes (32 zero bytes for a file that cannot be read). It reads every file
// once, so that the digest can head the table written after it.
func Digest(dir string, l Listing) string {
	h := sha256.New()
	for _, f := range l.Files {
		var sum [32]byte
		if data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Rel))); err == nil {
			sum = sha256.Sum256(data)
		}
		h.Write([]byte(f.Rel))
		h.Write([]byte{0})
		h.Write(sum[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Options adjust Convert.
type Options struct {
	Workers int  // files decoded at once; 0: 1
	SkipBad bool // skip files that cannot be read or decoded, instead of failing
	// Bad hears of each file skipped, with the reason (errors name the file).
	Bad func(err error)
	// Progress hears the number of files done so far, after each batch.
	Progress func(done int)
}

// Result sums up a conversion.
type Result struct{ Rows, Skipped int }

// Convert decodes the files of l, below dir, a batch of arrowio.BatchRows at
// a time on o.Workers goroutines, and hands the rows to write in listing
// order: index counts the rows written, path is the file below dir. A file
// that cannot be read fails the conversion, naming it, unless o.SkipBad.
func Convert(dir string, l Listing, o Options, write func(arrowio.ImageBatch) error) (Result, error) {
	var res Result
	workers := max(o.Workers, 1)
	type loaded struct {
		pixels []uint8
		err    error
	}
	for start := 0; start < len(l.Files); start += arrowio.BatchRows {
		files := l.Files[start:min(start+arrowio.BatchRows, len(l.Files))]
		got := make([]loaded, len(files))
		next := make(chan int)
		done := make(chan struct{})
		for range workers {
			go func() {
				for i := range next {
					p, err := Load(filepath.Join(dir, filepath.FromSlash(files[i].Rel)))
					got[i] = loaded{p, err}
				}
				done <- struct{}{}
			}()
		}
		for i := range files {
			next <- i
		}
		close(next)
		for range workers {
			<-done
		}
		var b arrowio.ImageBatch
		for i, f := range files {
			if err := got[i].err; err != nil {
				if !o.SkipBad {
					return res, err
				}
				res.Skipped++
				if o.Bad != nil {
					o.Bad(err)
				}
				continue
			}
			b.Index = append(b.Index, int32(res.Rows))
			b.Label = append(b.Label, f.Label)
			b.Pixels = append(b.Pixels, got[i].pixels...)
			b.Path = append(b.Path, f.Rel)
			res.Rows++
		}
		if b.Len() > 0 {
			if err := write(b); err != nil {
				return res, err
			}
		}
		if o.Progress != nil {
			o.Progress(start + len(files))
		}
	}
	return res, nil
}
