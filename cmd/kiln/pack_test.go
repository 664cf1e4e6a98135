package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackFlags checks every row of the pack flag table (docs/pack.md)
// against the commands: same and alias rows name a kiln flag that exists
// (same ones with pack's shorthand and kind), ignored rows print their
// notice and not-applicable rows fail saying why.
func TestPackFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	store := filepath.Join(dir, "store")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "cfg"))
	root := newRootCmd()
	positional := map[string]string{"build": "oci:out", "builder create": "oci:b", "buildpack package": "x.cnb", "rebase": "oci:nope", "inspect": "oci:nope"}
	for _, p := range packFlags {
		t.Run(p.cmd+" --"+p.name, func(t *testing.T) {
			cmd, _, err := root.Find(strings.Fields(p.cmd))
			if err != nil || cmd.CommandPath() != "kiln "+p.cmd {
				t.Fatalf("kiln %s: %v", p.cmd, err)
			}
			switch p.verdict {
			case packSame, packAlias:
				f := lookupFlag(cmd, p.kiln)
				if f == nil {
					t.Fatalf("kiln %s has no --%s", p.cmd, p.kiln)
				}
				if f.Hidden {
					t.Errorf("kiln %s --%s is hidden", p.cmd, p.kiln)
				}
				if p.verdict == packSame && (p.name != p.kiln || f.Shorthand != p.shorthand) {
					t.Errorf("same: pack -%s --%s, kiln -%s --%s", p.shorthand, p.name, f.Shorthand, f.Name)
				}
				if isBool := f.Value.Type() == "bool"; p.verdict == packSame && isBool != p.bool {
					t.Errorf("pack --%s takes a value: %v, kiln's: %v", p.name, !p.bool, !isBool)
				}
			case packIgnored, packUnsupported:
				args := append(strings.Fields(p.cmd), positional[p.cmd], "--"+p.name)
				if !p.bool {
					args = append(args, "x")
				}
				_, errOut, code := kilnImage(t, append([]string{"--store", store}, args...)...)
				want := "note: --" + p.name + " is accepted and ignored: " + p.why
				if p.verdict == packUnsupported {
					want = "--" + p.name + " (a pack flag) is not applicable to kiln " + p.cmd + ": " + p.why
					if code == 0 {
						t.Errorf("exit 0, want an error")
					}
				}
				if !strings.Contains(errOut, want) {
					t.Errorf("kiln %s: want %q in:\n%s", strings.Join(args, " "), want, errOut)
				}
				if p.shorthand != "" && lookupFlag(cmd, p.name).Shorthand != p.shorthand {
					t.Errorf("pack's shorthand -%s is not accepted", p.shorthand)
				}
			default:
				t.Fatalf("verdict %q", p.verdict)
			}
		})
	}
}

// TestPackFlagsDoc: docs/pack.md holds the table TestPackFlags checks.
func TestPackFlagsDoc(t *testing.T) {
	// The checkout's docs, wherever the test binary runs (the rootless pass
	// runs a copy elsewhere).
	path := filepath.Join(repoRoot(t), "docs", "pack.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), packFlagsMarkdown()) {
		t.Errorf("docs/pack.md does not hold the flag table of cmd/kiln/pack.go; regenerate it with KILN_WRITE_PACK_DOC=1 go test -run TestPackFlagsDoc ./cmd/kiln")
		if os.Getenv("KILN_WRITE_PACK_DOC") == "1" {
			s := string(doc)
			const begin, end = "<!-- pack flags: begin -->", "<!-- pack flags: end -->"
			i, j := strings.Index(s, begin), strings.Index(s, end)
			if i < 0 || j < i {
				t.Fatal("docs/pack.md has no pack flags markers")
			}
			s = s[:i+len(begin)] + "\n" + packFlagsMarkdown() + "\n" + s[j:]
			if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
