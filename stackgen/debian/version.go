package debian

import (
	"fmt"
	"strings"
)

// Version is a parsed Debian package version, [epoch:]upstream[-revision], as
// described in deb-version(7).
type Version struct {
	Epoch    int
	Upstream string
	Revision string
}

// ParseVersion parses s. It accepts what dpkg accepts in practice: a numeric
// epoch before the first colon, a revision after the last hyphen, and a
// non-empty upstream part that starts with a digit (not enforced: some
// archives carry versions that do not).
func ParseVersion(s string) (Version, error) {
	var v Version
	s = strings.TrimSpace(s)
	if s == "" {
		return v, fmt.Errorf("parsing version %q: empty", s)
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		e := 0
		for _, c := range s[:i] {
			if c < '0' || c > '9' {
				return v, fmt.Errorf("parsing version %q: epoch is not a number", s)
			}
			e = e*10 + int(c-'0')
		}
		if i == 0 {
			return v, fmt.Errorf("parsing version %q: empty epoch", s)
		}
		v.Epoch, s = e, s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.Upstream, v.Revision = s[:i], s[i+1:]
	} else {
		v.Upstream = s
	}
	if v.Upstream == "" {
		return v, fmt.Errorf("parsing version %q: empty upstream version", s)
	}
	return v, nil
}

// String formats v the way dpkg prints it.
func (v Version) String() string {
	s := v.Upstream
	if v.Epoch != 0 {
		s = fmt.Sprintf("%d:%s", v.Epoch, s)
	}
	if v.Revision != "" {
		s += "-" + v.Revision
	}
	return s
}

// Compare returns -1, 0 or 1 as a sorts before, equal to or after b.
func (a Version) Compare(b Version) int {
	switch {
	case a.Epoch < b.Epoch:
		return -1
	case a.Epoch > b.Epoch:
		return 1
	}
	if c := compareFragment(a.Upstream, b.Upstream); c != 0 {
		return c
	}
	return compareFragment(a.Revision, b.Revision)
}

// CompareVersions compares two version strings; an unparsable version sorts
// before any parsable one so that a broken index entry is never preferred.
func CompareVersions(a, b string) int {
	va, ea := ParseVersion(a)
	vb, eb := ParseVersion(b)
	switch {
	case ea != nil && eb != nil:
		return strings.Compare(a, b)
	case ea != nil:
		return -1
	case eb != nil:
		return 1
	}
	return va.Compare(vb)
}

// order is the weight of a non-digit character: the tilde sorts before
// everything, even the end of the string; letters sort before other
// characters.
func order(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return int(c)
	case c == '~':
		return -1
	case c == 0:
		return 0
	}
	return int(c) + 256
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// compareFragment is dpkg's algorithm: alternate between runs of non-digits,
// compared character by character by weight, and runs of digits, compared
// numerically.
func compareFragment(a, b string) int {
	i, j := 0, 0
	at := func(s string, k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ca, cb := at(a, i), at(b, j)
			if isDigit(ca) {
				ca = 0
			}
			if isDigit(cb) {
				cb = 0
			}
			if d := order(ca) - order(cb); d != 0 {
				return sign(d)
			}
			if ca != 0 {
				i++
			}
			if cb != 0 {
				j++
			}
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return sign(first)
		}
	}
	return 0
}

func sign(d int) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}
