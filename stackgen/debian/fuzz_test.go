package debian

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzCompareVersions checks that version comparison is a total preorder on
// any strings (reflexive, antisymmetric, transitive) and that it returns:
// a NUL byte once made it loop forever.
func FuzzCompareVersions(f *testing.F) {
	for _, s := range [][3]string{
		{"0", "\x00", "1"},
		{"1.0~rc1", "1.0", "1.0+b1"},
		{"1:0.1", "2.0", "0:2.0"},
		{"2.36-9+deb12u10", "2.36-9+deb12u4", "2.36-9"},
		{"007", "7", "7.0"},
		{"1.0a", "1.0+", "1.0~~"},
		{"", " ", "a:1"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		if got := CompareVersions(a, a); got != 0 {
			t.Fatalf("CompareVersions(%q, itself) = %d", a, got)
		}
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("CompareVersions(%q, %q) = %d but reversed = %d", a, b, ab, ba)
		}
		bc, ac := CompareVersions(b, c), CompareVersions(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but CompareVersions(a, c) = %d", a, b, c, ac)
		}
		if ab == 0 && bc == 0 && ac != 0 {
			t.Fatalf("equality not transitive: %q = %q = %q but CompareVersions(a, c) = %d", a, b, c, ac)
		}
	})
}

// FuzzParseVersion checks that a parsed version prints as a string that
// parses back to the same version, which compares equal to the input.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.0", "2:1.0-3-4", "0:1:2", "1:2:3-4", "a:1.0", ":1.0", "1:-1", "1.0-", " 1.0 ",
		"99999999999999999999:1", "\x00", "1.2.3-1~bpo12+1", "0--", "0:0-:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		if v.Upstream == "" || v.Epoch < 0 {
			t.Fatalf("ParseVersion(%q) = %#v: empty upstream or negative epoch accepted", s, v)
		}
		back, err := ParseVersion(v.String())
		if err != nil {
			t.Fatalf("ParseVersion(%q).String() = %q does not parse: %v", s, v.String(), err)
		}
		if back != v {
			t.Fatalf("ParseVersion(%q) = %#v, printed %q, parsed back as %#v", s, v, v.String(), back)
		}
		if c := CompareVersions(s, v.String()); c != 0 {
			t.Fatalf("CompareVersions(%q, its printed form %q) = %d", s, v.String(), c)
		}
	})
}

// FuzzParseRelations checks that parsed relations are well formed and that
// printing them gives a field that parses back to the same relations.
func FuzzParseRelations(f *testing.F) {
	for _, s := range []string{
		"libc6 (>= 2.34), libgcc-s1 (>= 3.0)",
		"python3:any, debconf (>= 0.5) | debconf-2.0",
		"foo [amd64] <!nocheck>, bar (<< 1.0) [!i386] <stage1>",
		"a (> 1), b (< 2)",
		"a (>= )", "a (", "a )(", "(>= 1)", "a b", "a:b:c (= 1:2-3)",
	} {
		f.Add(s)
	}
	ops := map[string]bool{"": true, "<<": true, "<=": true, "=": true, ">=": true, ">>": true}
	f.Fuzz(func(t *testing.T, field string) {
		deps, err := ParseRelations(field)
		if err != nil {
			return
		}
		parts := make([]string, len(deps))
		for i, d := range deps {
			if len(d) == 0 {
				t.Fatalf("ParseRelations(%q): dependency %d has no alternative", field, i)
			}
			for _, r := range d {
				if r.Name == "" || !ops[r.Op] || (r.Op != "") != (r.Version != "") {
					t.Fatalf("ParseRelations(%q): malformed relation %#v", field, r)
				}
			}
			parts[i] = d.String()
		}
		printed := strings.Join(parts, ", ")
		back, err := ParseRelations(printed)
		if err != nil {
			t.Fatalf("ParseRelations(%q) printed as %q, which does not parse: %v", field, printed, err)
		}
		if !reflect.DeepEqual(back, deps) {
			t.Fatalf("ParseRelations(%q) = %#v, printed %q, parsed back as %#v", field, deps, printed, back)
		}
	})
}
