package lifecycle

import (
	"fmt"
	"io"
	"log/slog"
	"mime"
	"path"
	"slices"
	"strings"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// SBOM media types by file extension.
var sbomTypes = map[string]string{
	"cdx.json":  "application/vnd.cyclonedx+json",
	"spdx.json": "application/spdx+json",
	"syft.json": "application/vnd.syft+json",
}

// sbomFile is one SBOM file a buildpack wrote, and where it is copied:
// <layers>/sbom/<kind>/<escaped-id>[/<layer>]/sbom.<ext>.
type sbomFile struct {
	src   string // the file's name in the buildpack's layers dir
	kind  string // "launch", "build" or "cache"
	layer string // empty for launch.sbom.<ext> and build.sbom.<ext>
	ext   string
}

// maxSBOMSize caps one SBOM file.
const maxSBOMSize = 1 << 30

// collectSBOM finds the SBOM files (*.sbom.*.json) in a buildpack's layers
// dir and checks their media types against sbom-formats. Below Buildpack
// API 0.7 they are ignored. Files of layers that were ignored are skipped.
func collectSBOM(dir *beneath.Dir, bp *Buildpack, layers []Layer, log *slog.Logger) ([]sbomFile, error) {
	names, err := dir.Names()
	if err != nil {
		return nil, err
	}
	var matches []string
	for _, n := range names {
		if ok, _ := path.Match("*.sbom.*.json", n); ok {
			matches = append(matches, n)
		}
	}
	if len(matches) == 0 {
		return nil, nil
	}
	if bp.api.LessThan("0.7") {
		log.Warn("ignoring SBOM files: Buildpack API below 0.7", "buildpack", bp.Info.ID, "files", matches)
		return nil, nil
	}
	var out []sbomFile
	for _, m := range matches {
		name, rest, _ := strings.Cut(m, ".")
		ext := strings.TrimPrefix(rest, "sbom.")
		if err := checkSBOMType(bp, ext); err != nil {
			return nil, fmt.Errorf("checking SBOM file %s: %w", dir.Path(m), err)
		}
		switch name {
		case "launch", "build":
			out = append(out, sbomFile{src: m, kind: name, ext: ext})
			continue
		}
		i := slices.IndexFunc(layers, func(l Layer) bool { return l.Name == name })
		if i < 0 {
			continue
		}
		kind := "build"
		if layers[i].Launch {
			kind = "launch"
		}
		out = append(out, sbomFile{src: m, kind: kind, layer: name, ext: ext})
		if layers[i].Cache {
			out = append(out, sbomFile{src: m, kind: "cache", layer: name, ext: ext})
		}
	}
	return out, nil
}

// checkSBOMType checks that ext is a known SBOM format that bp declares.
func checkSBOMType(bp *Buildpack, ext string) error {
	mt, ok := sbomTypes[ext]
	if !ok {
		return fmt.Errorf("unsupported SBOM format %q", ext)
	}
	for _, declared := range bp.Info.SBOMFormats {
		if d, _, err := mime.ParseMediaType(declared); err == nil && d == mt {
			return nil
		}
	}
	return fmt.Errorf("SBOM media type %s is not declared in sbom-formats of %s", mt, bp.Info.ID)
}

// copySBOM copies the files of the buildpack's layers dir src to
// <layers>/sbom/… (Platform API ≥0.8).
func copySBOM(layers, src *beneath.Dir, bpID string, files []sbomFile) error {
	for _, f := range files {
		dst := path.Join("sbom", f.kind, EscapeID(bpID), f.layer, "sbom."+f.ext)
		if err := copyFileAt(src, f.src, layers, dst, nil); err != nil {
			return fmt.Errorf("copying SBOM: %w", err)
		}
	}
	return nil
}

// copyFileAt copies the regular file name below src to dstName below dst
// (creating its directories), at most maxSBOMSize bytes, and gives the copy
// to owner. Anything but a regular file is refused: a buildpack's symlink
// must not make kiln read host files, nor a FIFO block it.
func copyFileAt(src *beneath.Dir, name string, dst *beneath.Dir, dstName string, owner *Owner) error {
	in, fi, err := src.OpenStat(name)
	if err != nil {
		return err
	}
	defer in.Close() // read-only
	if fi.Size() > maxSBOMSize {
		return fmt.Errorf("%s: %w: %d bytes, more than %d", src.Path(name), beneath.ErrTooLarge, fi.Size(), int64(maxSBOMSize))
	}
	dir, err := dst.MkdirAll(path.Dir(dstName), 0o755)
	if err != nil {
		return err
	}
	defer dir.Close()
	base := path.Base(dstName)
	if err := dir.WriteFrom(base, &exactReader{r: io.LimitReader(in, fi.Size()), left: fi.Size(), name: src.Path(name)}, 0o644); err != nil {
		return err
	}
	return owner.chownAt(dir, base)
}

// exactReader reads exactly left bytes from r, or fails: a file that
// shrinks while it is copied is an error, not a short copy.
type exactReader struct {
	r    io.Reader
	left int64
	name string
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left != 0 {
		return n, fmt.Errorf("%s changed while it was copied: %w", e.name, io.ErrUnexpectedEOF)
	}
	return n, err
}
