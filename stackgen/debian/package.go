package debian

import (
	"fmt"
	"strconv"
	"strings"
)

// Package is a binary package as an index describes it.
type Package struct {
	Name         string
	Version      string
	Architecture string
	// Filename is the path of the .deb relative to URI.
	Filename string
	SHA256   string
	Size     int64
	// URI is the repository the package comes from.
	URI string
	// Relationship fields as written in the index.
	Depends, PreDepends, Provides string
	Essential                     bool

	provides []Dependency // parsed Provides
}

// DownloadURL is where the .deb is fetched from.
func (p *Package) DownloadURL() string {
	return strings.TrimSuffix(p.URI, "/") + "/" + strings.TrimPrefix(p.Filename, "/")
}

// String is "name version arch".
func (p *Package) String() string { return p.Name + " " + p.Version + " " + p.Architecture }

// indexFields are the fields kept from a Packages index.
var indexFields = map[string]bool{
	"Package": true, "Version": true, "Architecture": true, "Filename": true, "SHA256": true, "Size": true,
	"Depends": true, "Pre-Depends": true, "Provides": true, "Essential": true,
}

// packageFrom builds a Package from an index paragraph.
func packageFrom(p Paragraph, uri string) (*Package, error) {
	pkg := &Package{
		Name:         p["Package"],
		Version:      p["Version"],
		Architecture: p["Architecture"],
		Filename:     p["Filename"],
		SHA256:       p["SHA256"],
		URI:          uri,
		Depends:      p["Depends"],
		PreDepends:   p["Pre-Depends"],
		Provides:     p["Provides"],
		Essential:    p["Essential"] == "yes",
	}
	if pkg.Name == "" || pkg.Version == "" || pkg.Filename == "" {
		return nil, fmt.Errorf("package %q: missing Package, Version or Filename", pkg.Name)
	}
	if len(pkg.SHA256) != 64 {
		return nil, fmt.Errorf("package %s %s: no SHA256", pkg.Name, pkg.Version)
	}
	if s := p["Size"]; s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("package %s %s: bad Size %q", pkg.Name, pkg.Version, s)
		}
		pkg.Size = n
	}
	if pkg.Provides != "" {
		prov, err := ParseRelations(pkg.Provides)
		if err != nil {
			return nil, fmt.Errorf("package %s %s: Provides: %w", pkg.Name, pkg.Version, err)
		}
		pkg.provides = prov
	}
	return pkg, nil
}

// providesFor reports whether p provides r: an unversioned Provides satisfies
// only unversioned relations; a versioned one ("foo (= 1.2)") satisfies r
// when its version does.
func (p *Package) providesFor(r Relation) bool {
	for _, d := range p.provides {
		for _, pr := range d {
			if pr.Name != r.Name {
				continue
			}
			if r.Op == "" {
				return true
			}
			if pr.Op == "=" && r.Satisfied(pr.Version) {
				return true
			}
		}
	}
	return false
}
