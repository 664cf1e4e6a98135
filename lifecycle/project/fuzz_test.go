package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// FuzzRead reads project.toml files of every schema: an error names the
// file; a descriptor read sets at most one of include and exclude, has
// build env names that are single path elements (they become files under
// <platform>/env), and every inline buildpack it declares can be written
// and read back as a buildpack with its id and version.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"[project]\nid = \"app\"\nname = \"App\"\n[build]\ninclude = [\"src\"]\n[[build.buildpacks]]\nid = \"a\"\nversion = \"1\"\n[[build.env]]\nname = \"FOO\"\nvalue = \"bar\"\n",
		"[_]\nschema-version = \"0.2\"\nid = \"app\"\n[[_.licenses]]\ntype = \"MIT\"\n[io.buildpacks]\nbuilder = \"b\"\nexclude = [\"*.md\"]\n[[io.buildpacks.group]]\nid = \"inline/x\"\n[io.buildpacks.group.script]\napi = \"0.10\"\ninline = \"echo hi\"\n[[io.buildpacks.pre.group]]\nuri = \"../pre\"\n[[io.buildpacks.build.env]]\nname = \"A\"\nvalue = \"1\"\n",
		"[_]\nschema-version = \"0.3\"\n[[io.buildpacks.group]]\nid = \"a\"\nexec-env = [\"production\"]\n",
		"[_]\nschema-version = \"9\"\n", "[[build.env]]\nname = \".\"\n", "[build]\ninclude = [\"a\"]\nexclude = [\"b\"]\n",
		"[[io.buildpacks.group]]\nid = \"..\"\n[io.buildpacks.group.script]\napi = \"0.10\"\ninline = \"x\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, DescriptorFile)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := Read(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if len(d.Include) > 0 && len(d.Exclude) > 0 {
			t.Fatal("both include and exclude")
		}
		for _, e := range d.Env {
			if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/=\x00") {
				t.Fatalf("build env name %q", e.Name)
			}
		}
		for i, g := range [][]Buildpack{d.Group, d.Pre, d.Post} {
			for j, b := range g {
				if !b.Inline() {
					continue
				}
				bpDir := filepath.Join(dir, "inline", string(rune('a'+i)), string(rune('a'+j%26)))
				if err := WriteInlineBuildpack(bpDir, b, "io.example.stack"); err != nil {
					continue // an id or version that cannot be laid out is refused there
				}
				desc, err := distribution.ReadDescriptor(bpDir)
				if err != nil {
					t.Fatalf("inline buildpack %q written, not readable: %v", b.ID, err)
				}
				want := b.Version
				if want == "" {
					want = distribution.DefaultVersion
				}
				if desc.ID != b.ID || desc.Version != want {
					t.Fatalf("inline buildpack %q@%q read back as %q@%q", b.ID, want, desc.ID, desc.Version)
				}
			}
		}
	})
}
