package lifecycle

import (
	"fmt"
)

// ReadProjectMetadata reads project-metadata.toml (CNB contract §2.3); a
// missing file is no metadata, as for the lifecycle.
func ReadProjectMetadata(path string) (ProjectMetadata, error) {
	var m ProjectMetadata
	if _, _, err := decodeOptional(path, &m); err != nil {
		return ProjectMetadata{}, fmt.Errorf("reading project metadata %s: %w", path, err)
	}
	return m, nil
}
