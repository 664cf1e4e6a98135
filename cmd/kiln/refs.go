package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/oci"
)

// refRole says whether an image argument is read or written.
type refRole int

const (
	refInput refRole = iota
	refOutput
)

// refSyntax is the one-line reminder of how images are named, for errors.
const refSyntax = "oci:DIR[:TAG] for an OCI layout, docker-archive:FILE[:NAME:TAG] for a docker archive, or a registry reference such as registry.example/app:1"

// parseImageArg parses the image reference s given as what (a flag such as
// "--builder" or an argument such as "SRC"). Paths are paths: an s that
// exists on disk or is written as a path (oci.LooksLikePath) is never read as
// a registry reference. Read, an existing OCI layout directory or archive
// file is taken as what it is; anything else on disk, a missing path, or a
// path to write to is an error that says how to name it.
func parseImageArg(what, s string, role refRole) (oci.Reference, error) {
	if s == "" {
		return oci.Reference{}, fmt.Errorf("%s: no image given: want %s", what, refSyntax)
	}
	if hasRefPrefix(s) {
		ref, err := oci.ParseReference(s)
		if err == nil && role == refOutput {
			err = oci.CheckDestination(ref) // before the work, not after
		}
		if err != nil {
			return ref, fmt.Errorf("%s: %w", what, err)
		}
		return ref, nil
	}
	fi, statErr := os.Stat(s)
	if statErr != nil && !oci.LooksLikePath(s) {
		ref, err := oci.ParseReference(s)
		if err != nil {
			return ref, fmt.Errorf("%s: %w (want %s)", what, err, refSyntax)
		}
		return ref, nil
	}
	if role == refOutput {
		return oci.Reference{}, pathOutputError(what, s, fi)
	}
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		return oci.Reference{}, fmt.Errorf("%s %s: no such file or directory (an image on disk is written oci:DIR[:TAG] or docker-archive:FILE; a registry reference has no ./, / or file extension)", what, s)
	case statErr != nil:
		return oci.Reference{}, fmt.Errorf("%s: %w", what, statErr)
	case fi.IsDir():
		if _, err := os.Stat(filepath.Join(s, "oci-layout")); err != nil {
			return oci.Reference{}, fmt.Errorf("%s %s is a directory but not an OCI image layout (it has no oci-layout file): want %s", what, s, refSyntax)
		}
		return oci.Reference{Kind: oci.KindLayout, Path: s, Tag: oci.DefaultTag}, nil
	case strings.HasSuffix(s, ".cnb"):
		return oci.Reference{}, fmt.Errorf("%s %s is a .cnb buildpackage file, not an image: give it to --buildpack, or copy it out with kiln image copy", what, s)
	case strings.HasSuffix(s, ".toml"):
		return oci.Reference{}, fmt.Errorf("%s %s is a TOML file, not an image: want %s", what, s, refSyntax)
	}
	return oci.Reference{Kind: oci.KindArchive, Path: s}, nil
}

// checkImageArg checks an image to be read that a library parses itself,
// and returns how to spell it for the library: as given, or with its kind
// when it is an image on disk given without one.
func checkImageArg(what, s string) (string, error) {
	ref, err := parseImageArg(what, s, refInput)
	if err != nil || hasRefPrefix(s) || ref.Kind == oci.KindRegistry {
		return s, err
	}
	return ref.String(), nil
}

// pathOutputError says how to write an image to the path s.
func pathOutputError(what, s string, fi fs.FileInfo) error {
	hint := "write oci:" + s + " for an OCI layout there, or docker-archive:" + s + " for a docker archive"
	if strings.HasSuffix(s, ".tar") || fi != nil && fi.Mode().IsRegular() {
		hint = "write docker-archive:" + s + " for a docker archive, or oci:" + s + " for an OCI layout there"
	}
	return fmt.Errorf("%s %s is a path, not a registry reference: %s", what, s, hint)
}

// hasRefPrefix reports whether s names its kind: oci: or docker-archive:.
func hasRefPrefix(s string) bool {
	return strings.HasPrefix(s, "oci:") || strings.HasPrefix(s, "docker-archive:")
}

// checkBuildpackArgs checks the --buildpack locators that name paths: a
// missing one is reported here rather than looked up in a registry. A bare
// word (no "/", ":" or "@") is taken as a path too: as an image it would be a
// Docker Hub library image, none of which holds a buildpack.
func checkBuildpackArgs(locs []string) error {
	for _, loc := range locs {
		kind, p := distribution.ParseLocator(loc, "")
		bare := kind == distribution.LocatorImage && !strings.ContainsAny(loc, "/:@")
		if kind != distribution.LocatorPath && !bare {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("--buildpack %s: no such file or directory (a buildpack directory, .tgz or .cnb file; an http(s):// URL; a buildpack on the builder as ID@VERSION; or an image as docker://REF)", loc)
		}
	}
	return nil
}
