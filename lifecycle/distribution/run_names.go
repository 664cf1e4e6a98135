package distribution

import (
	"os"
	"path/filepath"

	"github.com/kilnbuild/kiln/oci"
)

// LocalRunImageLabel records, on builders and app images kiln writes, a run
// image that has only a kiln-local name (oci:DIR[:TAG] or
// docker-archive:FILE), as builder.toml or --run-image gave it. Other
// platforms never see such a name: pack refuses "oci:stack:run" as a
// reference, so the names pack reads (the builder metadata, /cnb/run.toml,
// /cnb/stack.toml, runImage.image) hold registry names only. The same
// label name is lifecycle.LabelLocalRunImage.
const LocalRunImageLabel = "io.kilnbuild.run-image"

// IsRegistryName reports whether ref is a registry reference, the only kind
// of image name other platforms can read.
func IsRegistryName(ref string) bool {
	r, err := oci.ParseReference(ref)
	return err == nil && r.Kind == oci.KindRegistry
}

// RegistryRunImages is imgs as a builder records them for other platforms:
// registry names only. A run image whose own name is kiln-local is named by
// its first registry mirror instead, or left out when it has none.
func RegistryRunImages(imgs []RunImage) []RunImage {
	var out []RunImage
	for _, ri := range imgs {
		var names []string
		for _, n := range append([]string{ri.Image}, ri.Mirrors...) {
			if IsRegistryName(n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			continue
		}
		r := RunImage{Image: names[0]}
		if len(names) > 1 {
			r.Mirrors = names[1:]
		}
		out = append(out, r)
	}
	return out
}

// LocalRunImage is the default run image's name when it is kiln-local (what
// LocalRunImageLabel records), or "".
func LocalRunImage(imgs []RunImage) string {
	if len(imgs) == 0 || imgs[0].Image == "" || IsRegistryName(imgs[0].Image) {
		return ""
	}
	return imgs[0].Image
}

// ResolveImage is ref as kiln reads it for this builder.toml: a relative
// oci: or docker-archive: path is taken relative to the file's directory
// when it exists there (else relative to the working directory), as
// ReadBuilderConfig does for buildpack URIs. Names the builder records stay
// as written, so that the result does not depend on where the file is.
func (c *BuilderConfig) ResolveImage(ref string) string {
	r, err := oci.ParseReference(ref)
	if err != nil || c.Path == "" || r.Kind == oci.KindRegistry || filepath.IsAbs(r.Path) {
		return ref
	}
	p := filepath.Join(filepath.Dir(c.Path), r.Path)
	if _, err := os.Stat(p); err != nil {
		return ref
	}
	r.Path = p
	return r.String()
}
