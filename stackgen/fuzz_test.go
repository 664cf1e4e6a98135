package stackgen

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzLoadConfig reads stack.toml files: an error names the file; a spec
// read has an id, never the root user, ids a uid_t holds, an image source
// (base or packages) for both images and a uri and suites for every
// Debian source.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"id = \"io.example.python\"\nuid = 1001\ngid = 1002\n[build]\nbase = \"rootfs:b.tar\"\npackages = [\"python3\"]\n[run]\nbase = \"oci:images/run:1\"\nuser = true\nrebasable = false\nlabels = { \"org.example\" = \"x\" }\n[debian]\narchitecture = \"arm64\"\nmerged-usr = false\n[[debian.sources]]\nuri = \"file:repo\"\nsuites = [\"stable\"]\ncomponents = [\"main\"]\nsigned-by = \"keys/repo.asc\"\n",
		"id = \"x\"\nuid = 0\n[build]\npackages = [\"a\"]\n[run]\npackages = [\"b\"]\n",
		"id = \"x\"\nuid = -1\n", "id = \"x\"\nuid = 4294967296\n[build]\npackages = [\"a\"]\n[run]\npackages = [\"b\"]\n",
		"id = \"x\"\nunknown = 1\n", "[build]\n", "id = 1\n",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "python", "stack.toml")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "stack.toml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := LoadConfig(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		switch {
		case spec.ID == "":
			t.Fatal("a spec without an id")
		case spec.UID < 0 || spec.GID < 0 || spec.UID >= 1<<32-1 || spec.GID >= 1<<32-1:
			t.Fatalf("uid %d, gid %d: not ids of a user", spec.UID, spec.GID)
		case spec.Build.Base == "" && len(spec.Build.Packages) == 0, spec.Run.Base == "" && len(spec.Run.Packages) == 0:
			t.Fatalf("an image with neither base nor packages: %+v", spec)
		}
		for _, s := range spec.Debian.Sources {
			if s.URI == "" || len(s.Suites) == 0 {
				t.Fatalf("a Debian source without uri or suites: %+v", s)
			}
		}
	})
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzReadLock reads stack.lock files: a lock read is well formed (every
// package named, with a SHA256 that can only name a file of the pool, and
// a size that is not negative) and survives WriteFile and ReadLock.
func FuzzReadLock(f *testing.F) {
	for _, s := range []string{
		"[build]\narchitecture = \"amd64\"\nrequested = [\"a\"]\n[[build.package]]\nname = \"a\"\nversion = \"1.0-1\"\narchitecture = \"amd64\"\nuri = \"http://deb.example/debian\"\nfilename = \"pool/main/a/a_1.0-1_amd64.deb\"\nsha256 = \"" + strings.Repeat("ab", 32) + "\"\nsize = 1234\n[run]\n",
		"[[run.package]]\nname = \"b\"\nsha256 = \"../../../../etc/passwd\"\n",
		"[build]\nunknown = 1\n", "[[build.package]]\nname = \"\"\nsha256 = \"" + strings.Repeat("0", 64) + "\"\nsize = -1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "stack.lock")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := ReadLock(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		for _, li := range []LockedImage{l.Build, l.Run} {
			for _, pkg := range li.Packages {
				if pkg.Name == "" || !sha256Hex.MatchString(pkg.SHA256) || pkg.Size < 0 {
					t.Fatalf("a malformed package read: %+v", pkg)
				}
			}
		}
		again := filepath.Join(dir, "again.lock")
		if err := l.WriteFile(again); err != nil {
			t.Fatalf("writing the lock read: %v", err)
		}
		back, err := ReadLock(again)
		if err != nil {
			t.Fatalf("reading back the lock written: %v", err)
		}
		if diff := cmp.Diff(l, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("the lock changed through WriteFile and ReadLock (-read +back):\n%s", diff)
		}
	})
}
