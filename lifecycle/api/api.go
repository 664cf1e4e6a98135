// Package api is the CNB API versions: the "<major>.<minor>" strings that a
// buildpack declares in buildpack.toml (Buildpack API) and a platform in
// CNB_PLATFORM_API (Platform API), parsed and compared.
package api

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Version is a "<major>.<minor>" API version; "<major>" means "<major>.0".
type Version struct{ Major, Minor int }

// Parse parses an API version string.
func Parse(s string) (Version, error) {
	majorStr, minorStr, found := strings.Cut(s, ".")
	if !found {
		minorStr = "0"
	}
	major, err1 := strconv.Atoi(majorStr)
	minor, err2 := strconv.Atoi(minorStr)
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return Version{}, fmt.Errorf("parsing API version %q: not <major>.<minor>", s)
	}
	return Version{major, minor}, nil
}

// MustParse parses a version literal written in code; it panics on a bad one.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Compare returns -1, 0 or 1 as v is lower than, equal to or higher than o.
func (v Version) Compare(o Version) int {
	if v.Major != o.Major {
		return cmp.Compare(v.Major, o.Major)
	}
	return cmp.Compare(v.Minor, o.Minor)
}

// AtLeast reports whether v is the version s or a later one.
func (v Version) AtLeast(s string) bool { return v.Compare(MustParse(s)) >= 0 }

// LessThan reports whether v is earlier than the version s.
func (v Version) LessThan(s string) bool { return !v.AtLeast(s) }

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }
