package oci

import (
	"errors"
	"testing"
)

func TestParseReference(t *testing.T) {
	for _, tc := range []struct {
		in        string
		kind      Kind
		path      string
		tag       string
		name      string // Name.String(), "" when nil
		invalid   bool
		roundtrip string // String(), when it differs from in
	}{
		{in: "oci:dir", kind: KindLayout, path: "dir", tag: "latest", roundtrip: "oci:dir:latest"},
		{in: "oci:/tmp/img:v1.2", kind: KindLayout, path: "/tmp/img", tag: "v1.2"},
		{in: "oci:/mnt/a:b/img", kind: KindLayout, path: "/mnt/a:b/img", tag: "latest", roundtrip: "oci:/mnt/a:b/img:latest"},
		{in: "oci:/mnt/a:b/img:run", kind: KindLayout, path: "/mnt/a:b/img", tag: "run"},
		{in: "oci:weird:name:latest", kind: KindLayout, path: "weird:name", tag: "latest"},
		{in: "oci:", invalid: true},
		{in: "oci::tag", invalid: true},
		{in: "oci:dir:", invalid: true},
		{in: "docker-archive:img.tar", kind: KindArchive, path: "img.tar"},
		{in: "docker-archive:img.tar:app:1", kind: KindArchive, path: "img.tar", name: "app:1"},
		{in: "docker-archive:/x/img.tar:localhost:5000/a/b:v2", kind: KindArchive, path: "/x/img.tar", name: "localhost:5000/a/b:v2"},
		{in: "docker-archive:/a:b/img.tar", kind: KindArchive, path: "/a:b/img.tar"},
		{in: "docker-archive:", invalid: true},
		{in: "docker-archive:img.tar:", invalid: true},
		{in: "alpine", kind: KindRegistry, name: "alpine"},
		{in: "127.0.0.1:5000/app:1", kind: KindRegistry, name: "127.0.0.1:5000/app:1"},
		{in: "registry.example/app@sha256:" + zeros64, kind: KindRegistry, name: "registry.example/app@sha256:" + zeros64},
		{in: "UPPER/case", invalid: true},
		// Invalid tags are errors, never part of a directory or file name.
		{in: "oci:out:a b", invalid: true},
		{in: "oci:out:-x", invalid: true},
		{in: "docker-archive:x.tar:app", invalid: true},
		{in: "docker-archive:x.tar:a b:1", invalid: true},
		// Paths are never registry references.
		{in: "./nope.toml", invalid: true, path: "path"},
		{in: "../x", invalid: true, path: "path"},
		{in: "/abs/dir", invalid: true, path: "path"},
		{in: "~/img", invalid: true, path: "path"},
		{in: "out.tar", invalid: true, path: "path"},
		{in: "bp.tgz", invalid: true, path: "path"},
		{in: "bp.cnb", invalid: true, path: "path"},
		{in: "builder.toml", invalid: true, path: "path"},
		{in: ".", invalid: true, path: "path"},
		{in: "", invalid: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseReference(tc.in)
			if tc.invalid {
				if !errors.Is(err, ErrInvalidReference) {
					t.Fatalf("ParseReference(%q) = %+v, %v; want ErrInvalidReference", tc.in, got, err)
				}
				if isPath := tc.path == "path"; errors.Is(err, ErrPathReference) != isPath {
					t.Errorf("ParseReference(%q): %v; want ErrPathReference %v", tc.in, err, isPath)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			if got.Name != nil {
				name = got.Name.String()
			}
			if got.Kind != tc.kind || got.Path != tc.path || got.Tag != tc.tag || name != tc.name {
				t.Errorf("ParseReference(%q) = kind %d path %q tag %q name %q; want kind %d path %q tag %q name %q",
					tc.in, got.Kind, got.Path, got.Tag, name, tc.kind, tc.path, tc.tag, tc.name)
			}
			want := tc.in
			if tc.roundtrip != "" {
				want = tc.roundtrip
			}
			if s := got.String(); s != want {
				t.Errorf("String() = %q, want %q", s, want)
			}
			again, err := ParseReference(got.String())
			if err != nil || again.String() != got.String() {
				t.Errorf("reparsing %q: %v, %v", got.String(), again, err)
			}
		})
	}
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"
