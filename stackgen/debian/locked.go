package debian

// Locked is a package pinned in a lock file: enough to download and verify
// it again without any index.
type Locked struct {
	Name         string `toml:"name"`
	Version      string `toml:"version"`
	Architecture string `toml:"architecture"`
	URI          string `toml:"uri"`
	Filename     string `toml:"filename"`
	SHA256       string `toml:"sha256"`
	Size         int64  `toml:"size"`
}

// Lock pins p.
func (p *Package) Lock() Locked {
	return Locked{Name: p.Name, Version: p.Version, Architecture: p.Architecture, URI: p.URI,
		Filename: p.Filename, SHA256: p.SHA256, Size: p.Size}
}

// Package returns the pinned package (without relationship fields).
func (l Locked) Package() *Package {
	return &Package{Name: l.Name, Version: l.Version, Architecture: l.Architecture, URI: l.URI,
		Filename: l.Filename, SHA256: l.SHA256, Size: l.Size}
}
