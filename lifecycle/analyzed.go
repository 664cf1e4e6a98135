package lifecycle

import (
	"fmt"

	"github.com/BurntSushi/toml"
)

// Analyzed is analyzed.toml (CNB contract §2.3), what the analyzer tells the
// later phases of a build run as separate processes: the previous image and
// the run image, by digest, with the run image's target data, so that the
// detector and builder need no registry access. The [metadata] table the
// reference lifecycle also writes (the previous image's lifecycle label in
// TOML) is not written: the restorer and exporter read that label from the
// previous image itself.
type Analyzed struct {
	// Image is the previous image, by digest; its reference is empty when
	// there is none.
	Image ImageIdentifier `toml:"image"`
	// RunImage is the run image the build is based on.
	RunImage *AnalyzedRunImage `toml:"run-image,omitempty"`
}

// ImageIdentifier is analyzed.toml's [image].
type ImageIdentifier struct {
	Reference string `toml:"reference"`
}

// AnalyzedRunImage is analyzed.toml's [run-image]: Reference by digest,
// Image by the name given (Platform API ≥0.12), and the target.
type AnalyzedRunImage struct {
	Reference string          `toml:"reference"`
	Image     string          `toml:"image,omitempty"`
	Extend    bool            `toml:"extend,omitempty"`
	Target    *AnalyzedTarget `toml:"target,omitempty"`
}

// AnalyzedTarget is [run-image.target], with the lifecycle's key names.
type AnalyzedTarget struct {
	ID          string          `toml:"id,omitempty"`
	OS          string          `toml:"os"`
	Arch        string          `toml:"arch"`
	ArchVariant string          `toml:"arch-variant,omitempty"`
	Distro      *AnalyzedDistro `toml:"distro,omitempty"`
}

// AnalyzedDistro is [run-image.target.distro].
type AnalyzedDistro struct {
	Name    string `toml:"name"`
	Version string `toml:"version"`
}

// NewAnalyzedTarget is t as analyzed.toml records it.
func NewAnalyzedTarget(t TargetData) *AnalyzedTarget {
	a := &AnalyzedTarget{ID: t.ID, OS: t.OS, Arch: t.Arch, ArchVariant: t.ArchVariant}
	if t.Distro != nil {
		a.Distro = &AnalyzedDistro{Name: t.Distro.Name, Version: t.Distro.Version}
	}
	return a
}

// TargetData is the target a recorded, the zero value when there is none.
func (a *AnalyzedRunImage) TargetData() TargetData {
	if a == nil || a.Target == nil {
		return TargetData{}
	}
	t := TargetData{ID: a.Target.ID, OS: a.Target.OS, Arch: a.Target.Arch, ArchVariant: a.Target.ArchVariant}
	if d := a.Target.Distro; d != nil {
		t.Distro = &Distro{Name: d.Name, Version: d.Version}
	}
	return t
}

// ReadAnalyzed reads an analyzed.toml file.
func ReadAnalyzed(path string) (Analyzed, error) {
	var a Analyzed
	if _, err := toml.DecodeFile(path, &a); err != nil {
		return Analyzed{}, fmt.Errorf("reading analyzed metadata %s: %w", path, err)
	}
	return a, nil
}

// WriteAnalyzed writes a to path atomically.
func WriteAnalyzed(path string, a Analyzed) error {
	if err := writeTOML(path, a); err != nil {
		return fmt.Errorf("writing analyzed metadata %s: %w", path, err)
	}
	return nil
}
