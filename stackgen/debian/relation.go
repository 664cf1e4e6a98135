package debian

import (
	"fmt"
	"strings"
)

// Relation is one package named in a relationship field such as Depends:
// "libc6 (>= 2.34)" or "python3:any".
type Relation struct {
	Name    string
	Arch    string // the qualifier after a colon ("any", "native", an architecture), or ""
	Op      string // "<<", "<=", "=", ">=", ">>", or "" when unversioned
	Version string
}

// String formats r as it appears in a control file.
func (r Relation) String() string {
	s := r.Name
	if r.Arch != "" {
		s += ":" + r.Arch
	}
	if r.Op != "" {
		s += " (" + r.Op + " " + r.Version + ")"
	}
	return s
}

// Satisfied reports whether version v meets r's version constraint.
func (r Relation) Satisfied(v string) bool {
	if r.Op == "" {
		return true
	}
	c := CompareVersions(v, r.Version)
	switch r.Op {
	case "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>":
		return c > 0
	}
	return false
}

// Dependency is one comma-separated element of a relationship field: a list
// of alternatives of which the first satisfiable one is taken.
type Dependency []Relation

// String formats d as it appears in a control file.
func (d Dependency) String() string {
	parts := make([]string, len(d))
	for i, r := range d {
		parts[i] = r.String()
	}
	return strings.Join(parts, " | ")
}

// ParseRelations parses a relationship field (Depends, Pre-Depends, Provides
// and the like). Architecture restrictions ("[amd64]") and build profiles
// ("<!nocheck>"), which only source packages carry, are dropped.
func ParseRelations(field string) ([]Dependency, error) {
	var deps []Dependency
	for _, part := range strings.Split(field, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var dep Dependency
		for _, alt := range strings.Split(part, "|") {
			r, err := parseRelation(alt)
			if err != nil {
				return nil, fmt.Errorf("parsing relation %q: %w", strings.TrimSpace(part), err)
			}
			dep = append(dep, r)
		}
		deps = append(deps, dep)
	}
	return deps, nil
}

func parseRelation(s string) (Relation, error) {
	s = stripBracketed(s, '[', ']')
	// Build profiles come after any version constraint, whose operator also
	// uses angle brackets.
	k := strings.LastIndexByte(s, ')') + 1
	s = strings.TrimSpace(s[:k] + stripBracketed(s[k:], '<', '>'))
	var r Relation
	if i := strings.IndexByte(s, '('); i >= 0 {
		j := strings.IndexByte(s, ')')
		if j < i {
			return r, fmt.Errorf("unbalanced parenthesis")
		}
		cons := strings.TrimSpace(s[i+1 : j])
		s = strings.TrimSpace(s[:i])
		k = 0
		for k < len(cons) && strings.IndexByte("<=>", cons[k]) >= 0 {
			k++
		}
		r.Op, r.Version = cons[:k], strings.TrimSpace(cons[k:])
		switch r.Op {
		case "<": // obsolete spelling of <=
			r.Op = "<="
		case ">":
			r.Op = ">="
		case "<<", "<=", "=", ">=", ">>":
		default:
			return r, fmt.Errorf("unknown operator %q", r.Op)
		}
		if r.Version == "" {
			return r, fmt.Errorf("missing version")
		}
	}
	r.Name, r.Arch, _ = strings.Cut(s, ":")
	if r.Name == "" || strings.IndexFunc(r.Name, isSpaceOrControl) >= 0 {
		return r, fmt.Errorf("bad package name %q", s)
	}
	return r, nil
}

// stripBracketed removes every open…close span from s.
func stripBracketed(s string, open, close byte) string {
	for {
		i := strings.IndexByte(s, open)
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], close)
		if j < 0 {
			return s[:i]
		}
		s = s[:i] + s[i+j+1:]
	}
}
