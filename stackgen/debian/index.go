package debian

import (
	"fmt"
	"io"
	"sort"
)

// Index is the set of binary packages of one architecture, read from one or
// more Packages files. The zero value is not usable; use NewIndex.
type Index struct {
	arch      string
	byName    map[string][]*Package // name → versions, in insertion order
	providers map[string][]*Package // virtual name → packages that provide it
	seen      map[string]bool       // name version arch, to drop duplicates across suites
}

// NewIndex returns an empty index for arch (e.g. "amd64"). Packages of
// architecture "all" are always kept.
func NewIndex(arch string) *Index {
	return &Index{arch: arch, byName: map[string][]*Package{}, providers: map[string][]*Package{}, seen: map[string]bool{}}
}

// Arch is the architecture the index holds packages for.
func (ix *Index) Arch() string { return ix.arch }

// Add adds p unless a package with the same name, version and architecture
// is already there (the first source listed wins) or p is for another
// architecture.
func (ix *Index) Add(p *Package) {
	if p.Architecture != ix.arch && p.Architecture != "all" {
		return
	}
	key := p.String()
	if ix.seen[key] {
		return
	}
	ix.seen[key] = true
	ix.byName[p.Name] = append(ix.byName[p.Name], p)
	for _, d := range p.provides {
		for _, r := range d {
			ix.providers[r.Name] = append(ix.providers[r.Name], p)
		}
	}
}

// merge adds the packages of other, in name order.
func (ix *Index) merge(other *Index) {
	names := make([]string, 0, len(other.byName))
	for n := range other.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, p := range other.byName[n] {
			ix.Add(p)
		}
	}
}

// ReadPackages adds the packages of a Packages file (uncompressed) read from
// r; uri is the repository their Filename fields are relative to.
func (ix *Index) ReadPackages(r io.Reader, uri string) error {
	return ReadParagraphs(r, indexFields, func(p Paragraph) error {
		pkg, err := packageFrom(p, uri)
		if err != nil {
			return err
		}
		ix.Add(pkg)
		return nil
	})
}

// Len is the number of packages in the index.
func (ix *Index) Len() int { return len(ix.seen) }

// best returns the highest version of a real package named r.Name that
// satisfies r, or nil, with the versions that exist when none does.
func (ix *Index) best(r Relation) (*Package, []string) {
	var (
		found *Package
		have  []string
	)
	for _, p := range ix.byName[r.Name] {
		have = append(have, p.Version)
		if !r.Satisfied(p.Version) {
			continue
		}
		if found == nil || CompareVersions(p.Version, found.Version) > 0 {
			found = p
		}
	}
	return found, have
}

// provider returns the package that provides r: deterministically the one
// whose name sorts first, at its highest version.
func (ix *Index) provider(r Relation) *Package {
	var cands []*Package
	for _, p := range ix.providers[r.Name] {
		if p.providesFor(r) {
			cands = append(cands, p)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].Name != cands[j].Name {
			return cands[i].Name < cands[j].Name
		}
		return CompareVersions(cands[i].Version, cands[j].Version) > 0
	})
	if len(cands) == 0 {
		return nil
	}
	return cands[0]
}

func (ix *Index) describe(r Relation) string {
	_, have := ix.best(r)
	switch {
	case len(have) > 0:
		return fmt.Sprintf("no version satisfies it (available: %v)", have)
	case len(ix.providers[r.Name]) > 0:
		return "no provider satisfies it"
	}
	return "no such package"
}
