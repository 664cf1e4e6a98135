package oci

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Kind says where a Reference points.
type Kind int

const (
	// KindRegistry is an image in a registry, e.g. registry.example/app:1.
	KindRegistry Kind = iota
	// KindLayout is an image in an OCI image layout: oci:DIR[:TAG].
	KindLayout
	// KindArchive is a docker-archive tarball, the format of `docker save`
	// and `docker load`: docker-archive:FILE[:NAME:TAG].
	KindArchive
)

const (
	layoutPrefix  = "oci:"
	archivePrefix = "docker-archive:"
	// DefaultTag is the tag of an oci: reference that names none.
	DefaultTag = "latest"
)

// tagPattern is the grammar of an OCI tag (distribution spec).
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Reference names an image in one of three kinds of places.
type Reference struct {
	Kind Kind
	Path string // layout directory or archive file (KindLayout, KindArchive)
	// Tag is a layout's org.opencontainers.image.ref.name annotation
	// (KindLayout; default "latest").
	Tag string
	// Name is the registry reference (KindRegistry), or an archive's
	// NAME:TAG (KindArchive; nil when absent).
	Name name.Reference
}

// ParseReference parses s, one of:
//
//	oci:DIR[:TAG]                  an OCI image layout; TAG defaults to "latest"
//	docker-archive:FILE[:NAME:TAG] a docker-archive tarball
//	anything else                  a registry reference, parsed with opts
//
// A string written as a file system path (see LooksLikePath) is never a
// registry reference: it is an error wrapping ErrPathReference that says how
// to name a layout or an archive, so that a typo never becomes a registry
// lookup. An oci: or docker-archive: reference whose last element has a colon
// followed by something that is not a tag (oci:out:a b) is an error too.
//
// In oci:DIR:TAG the split is on the last colon, and only when what follows
// is a valid tag, so a directory whose name contains a colon followed by a
// path component (oci:/mnt/a:b/dir) needs no tag; one whose last element has a
// colon needs an explicit tag (oci:dir:x:latest). In docker-archive:FILE:NAME:TAG
// FILE ends at the first colon after which a tagged name follows.
func ParseReference(s string, opts ...name.Option) (Reference, error) {
	switch {
	case strings.HasPrefix(s, layoutPrefix):
		return parseLayout(s)
	case strings.HasPrefix(s, archivePrefix):
		return parseArchive(s)
	}
	if LooksLikePath(s) {
		return Reference{}, fmt.Errorf("parsing reference %q: %w (%w): write oci:%s for an OCI layout or docker-archive:%s for a docker archive",
			s, ErrPathReference, ErrInvalidReference, s, s)
	}
	n, err := name.ParseReference(s, opts...)
	if err != nil {
		return Reference{}, fmt.Errorf("parsing reference %q: %w: %v", s, ErrInvalidReference, err)
	}
	return Reference{Kind: KindRegistry, Name: n}, nil
}

func parseLayout(s string) (Reference, error) {
	rest := strings.TrimPrefix(s, layoutPrefix)
	dir, tag := rest, DefaultTag
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && tagPattern.MatchString(rest[i+1:]) {
		dir, tag = rest[:i], rest[i+1:]
	} else if i >= 0 && i == len(rest)-1 {
		return Reference{}, fmt.Errorf("parsing reference %q: %w: empty tag", s, ErrInvalidReference)
	} else if i >= 0 && !strings.Contains(rest[i+1:], "/") {
		return Reference{}, fmt.Errorf("parsing reference %q: %w: %q is not a tag (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'); "+
			"a directory whose name has a colon needs an explicit tag, e.g. oci:%s:latest", s, ErrInvalidReference, rest[i+1:], rest)
	}
	if dir == "" {
		return Reference{}, fmt.Errorf("parsing reference %q: %w: no directory", s, ErrInvalidReference)
	}
	return Reference{Kind: KindLayout, Path: dir, Tag: tag}, nil
}

func parseArchive(s string) (Reference, error) {
	rest := strings.TrimPrefix(s, archivePrefix)
	for i := 0; i < len(rest); i++ {
		if rest[i] != ':' || i == 0 {
			continue
		}
		nameTag := rest[i+1:]
		if strings.LastIndexByte(nameTag, ':') <= strings.LastIndexByte(nameTag, '/') {
			continue // NAME:TAG needs its tag
		}
		if t, err := name.NewTag(nameTag); err == nil {
			return Reference{Kind: KindArchive, Path: rest[:i], Name: t}, nil
		}
	}
	if rest == "" || strings.HasSuffix(rest, ":") {
		return Reference{}, fmt.Errorf("parsing reference %q: %w: no file or an empty name", s, ErrInvalidReference)
	}
	// A colon in the last element starts a NAME:TAG that did not parse.
	last := rest[strings.LastIndexByte(rest, '/')+1:]
	if _, nameTag, ok := strings.Cut(last, ":"); ok {
		return Reference{}, fmt.Errorf("parsing reference %q: %w: %q is not NAME:TAG (the tag is required, e.g. app:latest)",
			s, ErrInvalidReference, nameTag)
	}
	return Reference{Kind: KindArchive, Path: rest}, nil
}

// String returns r in the syntax ParseReference accepts.
func (r Reference) String() string {
	switch r.Kind {
	case KindLayout:
		return layoutPrefix + r.Path + ":" + r.Tag
	case KindArchive:
		if r.Name != nil {
			return archivePrefix + r.Path + ":" + r.Name.String()
		}
		return archivePrefix + r.Path
	default:
		if r.Name == nil {
			return ""
		}
		return r.Name.String()
	}
}

// pathSuffixes are the file name endings that make a string a path: kiln's
// and pack's configuration files and archives.
var pathSuffixes = []string{".toml", ".tar", ".tgz", ".tar.gz", ".cnb", ".zip", ".jar"}

// LooksLikePath reports whether s is written as a file system path: it is
// "." or "..", starts with "/", "./", "../" or "~", or ends in .toml, .tar,
// .tgz, .tar.gz, .cnb, .zip or .jar. ParseReference never reads such a string
// as a registry reference. (Whether s exists on disk is the caller's
// question: ParseReference does not look at the file system.)
func LooksLikePath(s string) bool {
	if s == "." || s == ".." {
		return true
	}
	for _, p := range []string{"/", "./", "../", "~"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	for _, ext := range pathSuffixes {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}
