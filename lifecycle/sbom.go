package lifecycle

import (
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
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
	src   Dir
	kind  string // "launch", "build" or "cache"
	layer string // empty for launch.sbom.<ext> and build.sbom.<ext>
	ext   string
}

// collectSBOM finds the SBOM files (*.sbom.*.json) in a buildpack's layers
// dir and checks their media types against sbom-formats. Below Buildpack
// API 0.7 they are ignored. Files of layers that were ignored are skipped.
func collectSBOM(bpDir Dir, bp *Buildpack, layers []Layer, log *slog.Logger) ([]sbomFile, error) {
	matches, err := filepath.Glob(filepath.Join(bpDir.Host, "*.sbom.*.json"))
	if err != nil || len(matches) == 0 {
		return nil, err
	}
	if bp.api.LessThan("0.7") {
		log.Warn("ignoring SBOM files: Buildpack API below 0.7", "buildpack", bp.Info.ID, "files", matches)
		return nil, nil
	}
	var out []sbomFile
	for _, m := range matches {
		name, rest, _ := strings.Cut(filepath.Base(m), ".")
		ext := strings.TrimPrefix(rest, "sbom.")
		if err := checkSBOMType(bp, ext); err != nil {
			return nil, fmt.Errorf("checking SBOM file %s: %w", m, err)
		}
		src := bpDir.join(filepath.Base(m))
		switch name {
		case "launch", "build":
			out = append(out, sbomFile{src: src, kind: name, ext: ext})
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
		out = append(out, sbomFile{src: src, kind: kind, layer: name, ext: ext})
		if layers[i].Cache {
			out = append(out, sbomFile{src: src, kind: "cache", layer: name, ext: ext})
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

// copySBOM copies the files to <layers>/sbom/… (Platform API ≥0.8).
func copySBOM(layers Dir, bpID string, files []sbomFile) error {
	for _, f := range files {
		dst, err := layers.scopedJoin(path.Join("sbom", f.kind, EscapeID(bpID), f.layer, "sbom."+f.ext))
		if err != nil {
			return err
		}
		if err := copyScoped(f.src, dst.Host); err != nil {
			return fmt.Errorf("copying SBOM %s: %w", f.src.Host, err)
		}
	}
	return nil
}

// copyScoped copies the regular file src to dst, refusing anything but a
// regular file (a buildpack's symlink must not make kiln read host files).
func copyScoped(src Dir, dst string) error {
	fi, err := os.Lstat(src.Host)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src.Host)
	}
	in, err := os.Open(src.Host)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
