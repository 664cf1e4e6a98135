package lifecycle

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/BurntSushi/toml"
)

// ReadProjectMetadata reads project-metadata.toml (CNB contract §2.3); a
// missing file is no metadata, as for the lifecycle.
func ReadProjectMetadata(path string) (ProjectMetadata, error) {
	var m ProjectMetadata
	_, err := toml.DecodeFile(path, &m)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ProjectMetadata{}, fmt.Errorf("reading project metadata %s: %w", path, err)
	}
	return m, nil
}
