package project

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// Inline reports whether the group entry is an inline buildpack.
func (b Buildpack) Inline() bool { return b.Script != nil && b.Script.Inline != "" }

// WriteInlineBuildpack writes the buildpack project.toml's inline script
// stands for into dir (created if missing), as pack generates it:
// buildpack.toml with the entry's id, its version or 0.0.0, the script's API
// and stackID as its only stack (none when stackID is empty); bin/build is
// "#!<shell>" followed by the script; bin/detect always passes. The result
// can be given to distribution.FetchBuildpacks like any buildpack directory.
func WriteInlineBuildpack(dir string, b Buildpack, stackID string) error {
	if !b.Inline() {
		return fmt.Errorf("writing inline buildpack %s: %w: no inline script", b.ID, ErrInvalidConfig)
	}
	version := b.Version
	if version == "" {
		version = distribution.DefaultVersion
	}
	if err := distribution.CheckIDVersion(b.ID, version); err != nil {
		return fmt.Errorf("writing inline buildpack %s: %w", b.ID, err)
	}
	shell := b.Script.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	desc := struct {
		API       string `toml:"api"`
		Buildpack struct {
			ID      string `toml:"id"`
			Version string `toml:"version"`
		} `toml:"buildpack"`
		Stacks []distribution.Stack `toml:"stacks,omitempty"`
	}{API: b.Script.API}
	desc.Buildpack.ID, desc.Buildpack.Version = b.ID, version
	if stackID != "" {
		desc.Stacks = []distribution.Stack{{ID: stackID}}
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(desc); err != nil {
		return fmt.Errorf("writing inline buildpack %s: %w", b.ID, err)
	}
	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{distribution.DescriptorFile, buf.String(), 0o644},
		{"bin/build", "#!" + shell + "\n\n" + b.Script.Inline + "\n", 0o755},
		{"bin/detect", "#!" + shell + "\n\nexit 0\n", 0o755},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing inline buildpack %s: %w", b.ID, err)
		}
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			return fmt.Errorf("writing inline buildpack %s: %w", b.ID, err)
		}
		if err := os.Chmod(p, f.mode); err != nil { // whatever the umask
			return fmt.Errorf("writing inline buildpack %s: %w", b.ID, err)
		}
	}
	return nil
}
