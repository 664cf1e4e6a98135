package lifecycle

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/internal/atomicfile"
)

// writeTOML encodes v to path through a temporary file and a rename.
func writeTOML(path string, v any) error {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes(), 0o644)
}

// writeFileAtomic writes data to path, creating its directory, so that
// readers never see a partial file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, mode)
}
