package debian

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testIndex(t *testing.T) *Index {
	t.Helper()
	const packages = `Package: app
Version: 1.0
Architecture: amd64
Depends: libc6 (>= 2.34), python3:any | python2, mail-transport-agent
Pre-Depends: dpkg (>= 1.15)
Filename: pool/app.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000001

Package: libc6
Version: 2.36-9
Architecture: amd64
Depends: libgcc-s1
Filename: pool/libc6-old.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000002

Package: libc6
Version: 2.36-9+deb12u10
Architecture: amd64
Depends: libgcc-s1
Filename: pool/libc6.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000003

Package: libc6
Version: 2.99
Architecture: arm64
Filename: pool/libc6-arm.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000004

Package: libgcc-s1
Version: 12.2
Architecture: amd64
Filename: pool/libgcc.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000005

Package: python3
Version: 3.11.2-1
Architecture: amd64
Depends: libc6
Filename: pool/python3.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000006

Package: python2
Version: 2.7
Architecture: amd64
Filename: pool/python2.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000007

Package: postfix
Version: 3.7
Architecture: amd64
Provides: mail-transport-agent, default-mta (= 3.7)
Filename: pool/postfix.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000008

Package: exim4
Version: 4.96
Architecture: amd64
Provides: mail-transport-agent
Filename: pool/exim.deb
SHA256: 0000000000000000000000000000000000000000000000000000000000000009

Package: dpkg
Version: 1.21
Architecture: amd64
Depends: perl-base
Filename: pool/dpkg.deb
SHA256: 000000000000000000000000000000000000000000000000000000000000000a

Package: perl-base
Version: 5.36
Architecture: amd64
Filename: pool/perl.deb
SHA256: 000000000000000000000000000000000000000000000000000000000000000b

Package: tzdata
Version: 2024a
Architecture: all
Depends: debconf (>= 0.5) | debconf-2.0
Filename: pool/tzdata.deb
SHA256: 000000000000000000000000000000000000000000000000000000000000000c

Package: cdebconf
Version: 0.270
Architecture: amd64
Provides: debconf-2.0
Filename: pool/cdebconf.deb
SHA256: 000000000000000000000000000000000000000000000000000000000000000d

Package: broken
Version: 1
Architecture: amd64
Depends: python3 (>= 4)
Filename: pool/broken.deb
SHA256: 000000000000000000000000000000000000000000000000000000000000000e

Package: wants-missing
Version: 1
Architecture: amd64
Depends: broken
Filename: pool/wm.deb
SHA256: 000000000000000000000000000000000000000000000000000000000000000f
`
	ix := NewIndex("amd64")
	if err := ix.ReadPackages(strings.NewReader(packages), "http://mirror.invalid/debian"); err != nil {
		t.Fatal(err)
	}
	return ix
}

func names(pkgs []*Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name+"="+p.Version)
	}
	return out
}

func TestResolve(t *testing.T) {
	ix := testIndex(t)
	tests := []struct {
		name    string
		want    []string
		exclude []string
		got     []string
	}{{
		name: "closure with alternatives, provides and the highest version",
		want: []string{"app"},
		got: []string{"app=1.0", "dpkg=1.21", "exim4=4.96", "libc6=2.36-9+deb12u10", "libgcc-s1=12.2",
			"perl-base=5.36", "python3=3.11.2-1"},
	}, {
		name:    "exclude stops the walk",
		want:    []string{"app"},
		exclude: []string{"dpkg", "mail-transport-agent"},
		got:     []string{"app=1.0", "libc6=2.36-9+deb12u10", "libgcc-s1=12.2", "python3=3.11.2-1"},
	}, {
		name: "an alternative already selected wins",
		want: []string{"python2", "postfix", "app"},
		got: []string{"app=1.0", "dpkg=1.21", "libc6=2.36-9+deb12u10", "libgcc-s1=12.2", "perl-base=5.36",
			"postfix=3.7", "python2=2.7"},
	}, {
		name: "a virtual alternative after a missing real one",
		want: []string{"tzdata"},
		got:  []string{"cdebconf=0.270", "tzdata=2024a"},
	}, {
		name: "pinned versions, apt and relation syntax",
		want: []string{"libc6=2.36-9", "libgcc-s1 (<< 13)"},
		got:  []string{"libc6=2.36-9", "libgcc-s1=12.2"},
	}, {
		name: "versioned provides",
		want: []string{"default-mta (= 3.7)"},
		got:  []string{"postfix=3.7"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := ix.Resolve(tt.want, tt.exclude)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.got, names(pkgs)); diff != "" {
				t.Errorf("Resolve(%v) (-want +got):\n%s", tt.want, diff)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	ix := testIndex(t)
	tests := []struct {
		want     []string
		sentinel error
		msg      string
	}{
		{[]string{"nosuch"}, ErrUnknownPackage, "nosuch: no such package"},
		{[]string{"python3 (>= 4)"}, ErrUnresolvable, "python3 (>= 4): no version satisfies it (available: [3.11.2-1])"},
		{[]string{"wants-missing"}, ErrUnresolvable, "wants-missing → broken → python3 (>= 4): no version satisfies it"},
		{[]string{"libc6=2.36-9", "libc6 (>= 2.36-9+deb12u1)"}, ErrUnresolvable, "libc6 (>= 2.36-9+deb12u1): needs 2.36-9+deb12u10 but 2.36-9 is already selected"},
		{[]string{"default-mta (= 9)"}, ErrUnresolvable, "default-mta (= 9): no provider satisfies it"},
	}
	for _, tt := range tests {
		_, err := ix.Resolve(tt.want, nil)
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("Resolve(%v) = %v, want %v", tt.want, err, tt.sentinel)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Resolve(%v) = %q, want it to contain %q", tt.want, err, tt.msg)
		}
	}
}

func TestParseRelations(t *testing.T) {
	got, err := ParseRelations("libc6 (>= 2.34), python3:any | python2 (<< 3) [amd64] <!nocheck>, foo (> 1)")
	if err != nil {
		t.Fatal(err)
	}
	want := []Dependency{
		{{Name: "libc6", Op: ">=", Version: "2.34"}},
		{{Name: "python3", Arch: "any"}, {Name: "python2", Op: "<<", Version: "3"}},
		{{Name: "foo", Op: ">=", Version: "1"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseRelations (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"foo (!= 1)", "foo (>= )", "(>= 1)"} {
		if _, err := ParseRelations(bad); err == nil {
			t.Errorf("ParseRelations(%q) succeeded", bad)
		}
	}
}

func TestResolveOver(t *testing.T) {
	ix := testIndex(t)
	installed := map[string]string{"libc6": "2.36-9", "libgcc-s1": "12.2", "perl-base": "5.36", "dpkg": "1.20"}
	pkgs, err := ix.ResolveOver([]string{"python3", "dpkg (>= 1.21)"}, nil, installed)
	if err != nil {
		t.Fatal(err)
	}
	// libc6 2.36-9 meets python3's plain dependency; dpkg 1.20 is too old.
	if diff := cmp.Diff([]string{"dpkg=1.21", "python3=3.11.2-1"}, names(pkgs)); diff != "" {
		t.Errorf("ResolveOver (-want +got):\n%s", diff)
	}
}
