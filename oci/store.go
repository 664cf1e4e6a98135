package oci

import (
	"fmt"
	"os"
)

// Store is kiln's local, content-addressed image store. It is itself an OCI
// image layout: blobs/sha256 holds every blob pulled once for all builds, each
// verified against its digest, and index.json names the manifest of each
// pulled reference with an org.opencontainers.image.ref.name annotation.
// Other parts of the package keep their caches under the same directory
// (unpacked root filesystems under rootfs/, the diffID memo).
type Store struct {
	dir    string
	layout *layoutDir
}

// OpenStore opens the store at dir, creating it when absent.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", dir, err)
	}
	l, err := openLayout(dir, true)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", dir, err)
	}
	return &Store{dir: dir, layout: l}, nil
}

// Dir returns the directory the store lives in.
func (s *Store) Dir() string { return s.dir }
