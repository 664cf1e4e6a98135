package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTutorialDoc checks docs/tutorial.md as a new user reads it: every
// shell variable its commands use is set in an earlier command (or is the
// shell's own), no user-facing step runs kiln's source with go run, and the
// app is waited for before curl asks it anything.
func TestTutorialDoc(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "tutorial.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 8 {
		t.Fatalf("%d sh blocks in the tutorial", len(blocks))
	}
	defined := map[string]bool{"PWD": true, "HOME": true, "PATH": true}
	assign := regexp.MustCompile(`(?m)(?:^|[;&|]\s*|export\s+)([A-Z_][A-Z0-9_]*)=`)
	use := regexp.MustCompile(`\$\{?([A-Z_][A-Z0-9_]*)`)
	waited := false
	for i, b := range blocks {
		for _, line := range strings.Split(b[1], "\n") {
			code, _, _ := strings.Cut(line, "#")
			for _, m := range use.FindAllStringSubmatch(code, -1) {
				if !defined[m[1]] {
					t.Errorf("block %d uses $%s before any step sets it: %q", i+1, m[1], line)
				}
			}
			for _, m := range assign.FindAllStringSubmatch(code, -1) {
				defined[m[1]] = true
			}
			if strings.Contains(code, "go run") {
				t.Errorf("block %d runs kiln's source (%q): a user has kiln on PATH", i+1, line)
			}
			if strings.HasPrefix(strings.TrimSpace(code), "until curl") {
				waited = true
			} else if strings.HasPrefix(strings.TrimSpace(code), "curl") && !waited {
				t.Errorf("block %d asks the app before waiting for it: %q", i+1, line)
			}
		}
	}
}
