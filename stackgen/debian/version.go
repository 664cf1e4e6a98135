package debian

import (
	"fmt"
	"math"
	"strings"
	"unicode"
)

// Version is a parsed Debian package version, [epoch:]upstream[-revision], as
// described in deb-version(7).
type Version struct {
	Epoch    int
	Upstream string
	Revision string
}

// ParseVersion parses s. It accepts what dpkg accepts in practice: no
// embedded spaces or control characters, a numeric epoch (at most
// 2147483647) before the first colon, a non-empty revision after the last hyphen, and a
// non-empty upstream part that starts with a digit (not enforced: some
// archives carry versions that do not).
func ParseVersion(s string) (Version, error) {
	var v Version
	s = strings.TrimSpace(s)
	if s == "" {
		return v, fmt.Errorf("parsing version %q: empty", s)
	}
	if strings.IndexFunc(s, isSpaceOrControl) >= 0 {
		return v, fmt.Errorf("parsing version %q: embedded space or control character", s)
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		e := 0
		for _, c := range s[:i] {
			if c < '0' || c > '9' {
				return v, fmt.Errorf("parsing version %q: epoch is not a number", s)
			}
			if e = e*10 + int(c-'0'); e > math.MaxInt32 {
				return v, fmt.Errorf("parsing version %q: epoch is too big", s)
			}
		}
		if i == 0 {
			return v, fmt.Errorf("parsing version %q: empty epoch", s)
		}
		v.Epoch, s = e, s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.Upstream, v.Revision = s[:i], s[i+1:]
		if v.Revision == "" {
			return v, fmt.Errorf("parsing version %q: empty revision after the hyphen", s)
		}
	} else {
		v.Upstream = s
	}
	if v.Upstream == "" {
		return v, fmt.Errorf("parsing version %q: empty upstream version", s)
	}
	return v, nil
}

// String formats v the way dpkg prints it: the epoch is left out when 0,
// unless the rest holds a colon that would then read as one.
func (v Version) String() string {
	s := v.Upstream
	if v.Revision != "" {
		s += "-" + v.Revision
	}
	if v.Epoch != 0 || strings.Contains(s, ":") {
		s = fmt.Sprintf("%d:%s", v.Epoch, s)
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

// weight is the weight of the character at s[k] in dpkg's order of
// non-digit runs: the tilde sorts before everything, even the end of the
// string; letters sort before other characters; the end of the string and
// a digit (the start of the next numeric run) weigh 0. The end is told by
// the index, never by a NUL byte, which a hostile index may contain.
func weight(s string, k int) int {
	if k >= len(s) {
		return 0
	}
	switch c := s[k]; {
	case isDigit(c):
		return 0
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// compareFragment is dpkg's algorithm: alternate between runs of non-digits,
// compared character by character by weight, and runs of digits, compared
// numerically. Every turn of the first loop consumes a character of a or b.
func compareFragment(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			if d := weight(a, i) - weight(b, j); d != 0 {
				return sign(d)
			}
			if i < len(a) && !isDigit(a[i]) {
				i++
			}
			if j < len(b) && !isDigit(b[j]) {
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

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }
