package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzConfigFile reads kiln's configuration file: an error names the file;
// what is read holds known keys only, one value for a single setting, each
// value passing its setting's check; kiln config's writer writes it and
// it reads back the same (true and false for 1 and 0).
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"store = \"/var/cache/kiln\"\npull-policy = \"never\"\ndefault-builder = \"registry.example/builder:1\"\ninsecure-registries = [\"a.example:5000\", \"b\"]\n[registry-mirrors]\n\"index.docker.io\" = \"mirror.example:5000\"\n",
		"ca-certs = [\"/etc/ca.pem\"]\ntls-skip-verify = [\"x\"]\nstore-max-size = \"20G\"\nstore-max-age = \"168h\"\nverbose = true\nquiet = \"false\"\ntimestamps = \"1\"\nno-color = false\n",
		"registry-mirrors = [\"a=b\"]\n", "verbose = \"yes\"\n", "unknown = 1\n", "store = [\"a\", \"b\"]\n",
		"[registry-mirrors]\nx = 1\n", "[registry-mirrors.x]\ny = \"z\"\n", "pull-policy = 1\n", "store-max-size = 5\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("KILN_CONFIG", p)
		cf, err := readConfigFile()
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		for key, vals := range cf.values {
			s, ok := settingByKey(key)
			switch {
			case !ok:
				t.Fatalf("unknown key %q read", key)
			case !s.list && len(vals) != 1:
				t.Fatalf("%s: %q read for a single setting", key, vals)
			}
			for _, v := range vals {
				if s.check != nil && s.check(v) != nil {
					t.Fatalf("%s = %q read: %v", key, v, s.check(v))
				}
			}
		}
		if err := cf.write(); err != nil {
			t.Fatalf("writing the configuration read: %v", err)
		}
		back, err := readConfigFile()
		if err != nil {
			b, _ := os.ReadFile(p)
			t.Fatalf("what kiln config wrote does not read back: %v\n%s", err, b)
		}
		if diff := cmp.Diff(normBools(cf.values), normBools(back.values), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("the configuration changed through kiln config's writer (-read +back):\n%s", diff)
		}
	})
}

// normBools spells the true/false settings' 1 and 0 as true and false.
func normBools(values map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, vals := range values {
		s, _ := settingByKey(k)
		if s.boolean && len(vals) == 1 {
			switch vals[0] {
			case "1":
				vals = []string{"true"}
			case "0":
				vals = []string{"false"}
			}
		}
		out[k] = vals
	}
	return out
}

// TestConfigFileMirrorTable: a registry-mirrors table maps registries to
// mirror hosts; a value that is not a string is an error naming the file
// and key, never a mirror named "map[…]" or "1".
func TestConfigFileMirrorTable(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"[registry-mirrors]\n\"index.docker.io\" = \"mirror.example:5000\"\n", ""},
		{"[registry-mirrors]\nx = 1\n", "registry-mirrors.x: want a string"},
		{"[registry-mirrors.x]\ny = \"z\"\n", "registry-mirrors.x: want a string"},
	} {
		p := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(p, []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("KILN_CONFIG", p)
		cf, err := readConfigFile()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.data, err)
		case tc.want == "" && !cmp.Equal(cf.values["registry-mirrors"], []string{"index.docker.io=mirror.example:5000"}):
			t.Errorf("%q: mirrors %q", tc.data, cf.values["registry-mirrors"])
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want an error naming %s and %q", tc.data, err, p, tc.want)
		}
	}
}
