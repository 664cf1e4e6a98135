package lifecycle

import (
	"fmt"

	"github.com/BurntSushi/toml"
)

// Group is the group of buildpacks that passed detection, as group.toml
// holds it: each entry with its id, version, api and homepage.
type Group struct {
	Group []GroupEntry `toml:"group"`
}

// ReadGroup reads a group.toml file.
func ReadGroup(path string) (Group, error) {
	var g Group
	if _, err := toml.DecodeFile(path, &g); err != nil {
		return Group{}, fmt.Errorf("reading group %s: %w", path, err)
	}
	return g, nil
}

// WriteGroup writes g to path atomically.
func WriteGroup(path string, g Group) error {
	if err := writeTOML(path, g); err != nil {
		return fmt.Errorf("writing group %s: %w", path, err)
	}
	return nil
}
