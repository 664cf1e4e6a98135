package debian

import (
	"fmt"
	"sort"
	"strings"
)

// Resolve returns the closure of want under Depends and Pre-Depends, sorted
// by name: exactly the requested packages and what they need, nothing else
// (Recommends and Suggests are ignored, and Essential packages are not added
// unless something depends on them). Each element of want is a package name,
// optionally with a constraint: "python3", "python3 (>= 3.11)" or apt's
// "python3=3.11.2-1+b1".
//
// Alternatives ("a | b") take the first one that is already selected, else
// the first one the index can satisfy. A virtual package is satisfied by a
// real package of that name, else by its provider whose name sorts first.
// Packages named in exclude are treated as present without being added:
// their dependencies are not followed (for example to keep dpkg, debconf or
// perl-base out of a distroless image). Conflicts and Breaks are not
// checked.
func (ix *Index) Resolve(want, exclude []string) ([]*Package, error) {
	return ix.ResolveOver(want, exclude, nil)
}

// ResolveOver is Resolve on top of packages already installed (name →
// version, as a base image's dpkg database lists them): an installed
// package satisfies a relation its version meets and is not added again; a
// relation it does not meet selects a package from the index, which then
// replaces it.
func (ix *Index) ResolveOver(want, exclude []string, installed map[string]string) ([]*Package, error) {
	excluded := map[string]bool{}
	for _, e := range exclude {
		excluded[e] = true
	}
	type item struct {
		dep   Dependency
		chain []string
	}
	var queue []item
	for _, w := range want {
		r, err := parseRequest(w)
		if err != nil {
			return nil, err
		}
		queue = append(queue, item{dep: Dependency{r}})
	}
	selected := map[string]*Package{}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if satisfiedBy(it.dep, selected, excluded, installed) {
			continue
		}
		p, err := ix.choose(it.dep, selected)
		if err != nil {
			unknown := len(it.chain) == 0 && len(ix.byName[it.dep[0].Name]) == 0 && len(ix.providers[it.dep[0].Name]) == 0
			return nil, &ResolveError{Chain: it.chain, Dep: it.dep, Reason: err.Error(), Unknown: unknown}
		}
		selected[p.Name] = p
		chain := append(append([]string{}, it.chain...), p.Name)
		for _, field := range []string{p.PreDepends, p.Depends} {
			deps, err := ParseRelations(field)
			if err != nil {
				return nil, fmt.Errorf("resolving %s: %w", strings.Join(chain, " → "), err)
			}
			for _, d := range deps {
				queue = append(queue, item{dep: d, chain: chain})
			}
		}
	}
	out := make([]*Package, 0, len(selected))
	for _, p := range selected {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// parseRequest accepts a relation or apt's name=version.
func parseRequest(s string) (Relation, error) {
	if name, ver, ok := strings.Cut(s, "="); ok && !strings.Contains(s, "(") {
		return Relation{Name: strings.TrimSpace(name), Op: "=", Version: strings.TrimSpace(ver)}, nil
	}
	r, err := parseRelation(s)
	if err != nil {
		return r, fmt.Errorf("parsing package request %q: %w", s, err)
	}
	return r, nil
}

// satisfiedBy reports whether a selected, excluded or installed package
// already meets d.
func satisfiedBy(d Dependency, selected map[string]*Package, excluded map[string]bool, installed map[string]string) bool {
	for _, r := range d {
		if excluded[r.Name] {
			return true
		}
		if v, ok := installed[r.Name]; ok && selected[r.Name] == nil && r.Satisfied(v) {
			return true
		}
		if p := selected[r.Name]; p != nil && r.Satisfied(p.Version) {
			return true
		}
		for _, p := range selected {
			if p.providesFor(r) {
				return true
			}
		}
	}
	return false
}

// choose picks the package that satisfies the first satisfiable alternative
// of d without contradicting a selected package of the same name.
func (ix *Index) choose(d Dependency, selected map[string]*Package) (*Package, error) {
	var reasons []string
	for _, r := range d {
		p, _ := ix.best(r)
		if p == nil {
			p = ix.provider(r)
		}
		if p == nil {
			reasons = append(reasons, r.Name+": "+ix.describe(r))
			continue
		}
		if prev := selected[p.Name]; prev != nil && prev != p {
			reasons = append(reasons, fmt.Sprintf("%s: needs %s but %s is already selected", r.Name, p.Version, prev.Version))
			continue
		}
		return p, nil
	}
	if len(d) == 1 {
		_, reason, _ := strings.Cut(reasons[0], ": ")
		return nil, fmt.Errorf("%s", reason)
	}
	return nil, fmt.Errorf("%s", strings.Join(reasons, "; "))
}
