package project

import (
	"fmt"
	"path"
	"strings"
)

// Patterns is a compiled list of gitignore-style patterns, as project.toml's
// include and exclude lists are. The subset of gitignore(5) understood:
//
//   - blank lines and lines starting with "#" are ignored; "\#" and "\!"
//     start a pattern with a literal "#" or "!"; unescaped trailing spaces
//     are dropped;
//   - "!" negates: a later negated pattern re-matches what an earlier one
//     matched, except inside a directory that is itself matched;
//   - a trailing "/" matches directories only;
//   - a pattern with a "/" at the start or in the middle is anchored at the
//     root; one without matches a name at any depth;
//   - "*" matches within one path element, "?" one character, "[…]" a class
//     ("[!…]" negated); "**/" at the start matches in any directory, "/**"
//     at the end everything inside, "/**/" zero or more directories.
//
// The last pattern that matches a path decides.
type Patterns struct {
	rules []rule
}

type rule struct {
	negate  bool
	dirOnly bool
	segs    []string
}

// CompilePatterns compiles gitignore-style lines. A malformed character
// class is an error wrapping ErrBadPattern.
func CompilePatterns(lines []string) (*Patterns, error) {
	p := &Patterns{}
	for _, line := range lines {
		r, ok, err := compileRule(line)
		if err != nil {
			return nil, err
		}
		if ok {
			p.rules = append(p.rules, r)
		}
	}
	return p, nil
}

func compileRule(line string) (rule, bool, error) {
	line = trimTrailingSpaces(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return rule{}, false, nil
	}
	var r rule
	if strings.HasPrefix(line, "!") {
		r.negate, line = true, line[1:]
	}
	for strings.HasSuffix(line, "/") {
		r.dirOnly, line = true, strings.TrimSuffix(line, "/")
	}
	anchored := strings.Contains(line, "/")
	line = strings.TrimLeft(line, "/")
	if line == "" {
		return rule{}, false, nil
	}
	for _, s := range strings.Split(line, "/") {
		if s == "" {
			continue // "a//b" means "a/b"
		}
		if s != "**" {
			s = strings.ReplaceAll(s, "[!", "[^")
			if _, err := path.Match(s, ""); err != nil {
				return rule{}, false, fmt.Errorf("compiling pattern %q: %w", line, ErrBadPattern)
			}
		}
		r.segs = append(r.segs, s)
	}
	if !anchored {
		r.segs = append([]string{"**"}, r.segs...)
	}
	return r, true, nil
}

// trimTrailingSpaces drops trailing spaces that are not escaped by a
// backslash, and the backslash of an escaped one.
func trimTrailingSpaces(s string) string {
	for strings.HasSuffix(s, " ") {
		if strings.HasSuffix(s, "\\ ") {
			return s[:len(s)-2] + " "
		}
		s = s[:len(s)-1]
	}
	return s
}

// Empty reports whether there are no patterns.
func (p *Patterns) Empty() bool { return p == nil || len(p.rules) == 0 }

// Match reports whether rel, a slash-separated path relative to the root,
// is matched: by the patterns themselves, or because a directory above it
// is. isDir says whether rel is a directory.
func (p *Patterns) Match(rel string, isDir bool) bool {
	if p.Empty() {
		return false
	}
	parts := strings.Split(strings.Trim(path.Clean(rel), "/"), "/")
	for i := 1; i < len(parts); i++ {
		if p.matchSelf(parts[:i], true) {
			return true
		}
	}
	return p.matchSelf(parts, isDir)
}

// matchSelf applies the rules to one path, ignoring its parents.
func (p *Patterns) matchSelf(parts []string, isDir bool) bool {
	matched := false
	for _, r := range p.rules {
		if r.negate != matched {
			continue // cannot change the outcome
		}
		if r.dirOnly && !isDir {
			continue
		}
		if matchSegments(r.segs, parts) {
			matched = !r.negate
		}
	}
	return matched
}

// matchSegments matches pattern elements against path elements; "**"
// matches any number of elements, at least one when it ends the pattern.
func matchSegments(segs, parts []string) bool {
	if len(segs) == 0 {
		return len(parts) == 0
	}
	if segs[0] == "**" {
		if len(segs) == 1 {
			return len(parts) > 0
		}
		for i := 0; i <= len(parts); i++ {
			if matchSegments(segs[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	if ok, _ := path.Match(segs[0], parts[0]); !ok {
		return false
	}
	return matchSegments(segs[1:], parts[1:])
}
