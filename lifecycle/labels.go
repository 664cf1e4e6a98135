package lifecycle

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
)

// The labels the exporter writes on the app image (CNB contract §3).
const (
	// LabelLifecycleMetadata holds LifecycleMetadata: the layers of the
	// image by diffID, for rebase and layer reuse.
	LabelLifecycleMetadata = "io.buildpacks.lifecycle.metadata"
	// LabelBuildMetadata holds BuildLabel: buildpacks, processes, launcher.
	LabelBuildMetadata = "io.buildpacks.build.metadata"
	// LabelProjectMetadata holds ProjectMetadata ({} when there is none).
	LabelProjectMetadata = "io.buildpacks.project.metadata"
	// LabelLocalRunImage is kiln's own: the run image's name when it has
	// only a kiln-local one (oci:…, docker-archive:…), which other platforms
	// cannot read and runImage.image therefore never holds
	// (distribution.LocalRunImageLabel on builders).
	LabelLocalRunImage = "io.kilnbuild.run-image"
)

// LifecycleMetadata is the io.buildpacks.lifecycle.metadata label. Its JSON
// shape is the reference lifecycle's, not the spec's: buildpacks carry
// "key" (not "id"), layer metadata sits under "data", and the deprecated
// "stack" copy of the run image is always written. Every SHA is a diffID.
type LifecycleMetadata struct {
	App          AppLayers           `json:"app"`
	SBOM         *LayerSHA           `json:"sbom,omitempty"`
	Buildpacks   []BuildpackLayers   `json:"buildpacks"`
	Config       LayerSHA            `json:"config"`
	Launcher     LayerSHA            `json:"launcher"`
	ProcessTypes LayerSHA            `json:"process-types"`
	RunImage     RunImageForRebase   `json:"runImage"`
	Stack        *StackRunImageLabel `json:"stack,omitempty"`
}

// LayerSHA names a layer by diffID ("sha256:…"); "" when absent.
type LayerSHA struct {
	SHA string `json:"sha"`
}

// AppLayers are the app layers (slices, then the remainder). Older images
// store a single object instead of an array; both are read.
type AppLayers []LayerSHA

// UnmarshalJSON reads an array of {"sha"} objects or a single one.
func (a *AppLayers) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*a = nil
		return nil
	case len(b) > 0 && b[0] == '{':
		var one LayerSHA
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*a = AppLayers{one}
		return nil
	}
	var many []LayerSHA
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// BuildpackLayers is one buildpack's launch layers in LifecycleMetadata.
type BuildpackLayers struct {
	ID      string                   `json:"key"`
	Version string                   `json:"version"`
	Layers  map[string]LayerMetadata `json:"layers"`
	Store   *StoreMetadata           `json:"store,omitempty"`
}

// LayerMetadata is a launch layer's diffID, its <layer>.toml [metadata]
// and its flags.
type LayerMetadata struct {
	SHA    string `json:"sha"`
	Data   any    `json:"data"`
	Build  bool   `json:"build"`
	Launch bool   `json:"launch"`
	Cache  bool   `json:"cache"`
}

// StoreMetadata is a buildpack's store.toml, which persists only through
// this label.
type StoreMetadata struct {
	Data map[string]any `json:"metadata"`
}

// RunImageForRebase records the run image the app was built on.
type RunImageForRebase struct {
	// TopLayer is the diffID of the run image's last layer.
	TopLayer string `json:"topLayer"`
	// Reference is the run image by digest ("registry/run@sha256:…") or
	// its image ID.
	Reference string `json:"reference"`
	// Image and Mirrors are the run image name(s) of run.toml (Platform
	// API ≥0.12).
	Image   string   `json:"image"`
	Mirrors []string `json:"mirrors,omitempty"`
}

// StackRunImageLabel is the deprecated stack.runImage copy.
type StackRunImageLabel struct {
	RunImage RunImageName `json:"runImage"`
}

// RunImageName is a run image name and its mirrors.
type RunImageName struct {
	Image   string   `json:"image"`
	Mirrors []string `json:"mirrors,omitempty"`
}

// ForBuildpack returns the layers recorded for buildpack id; the zero value
// when there are none.
func (m *LifecycleMetadata) ForBuildpack(id string) BuildpackLayers {
	if m == nil {
		return BuildpackLayers{}
	}
	for _, b := range m.Buildpacks {
		if b.ID == id {
			return b
		}
	}
	return BuildpackLayers{}
}

// ParseLifecycleMetadata reads the io.buildpacks.lifecycle.metadata label
// from an image's labels; ok is false when the label is absent.
func ParseLifecycleMetadata(labels map[string]string) (m LifecycleMetadata, ok bool, err error) {
	raw, ok := labels[LabelLifecycleMetadata]
	if !ok {
		return LifecycleMetadata{}, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return LifecycleMetadata{}, true, fmt.Errorf("parsing label %s: %w", LabelLifecycleMetadata, err)
	}
	return m, true, nil
}

// RunImageNames are the run image names the metadata records: runImage
// and its mirrors, then the deprecated stack.runImage and its mirrors.
func (m *LifecycleMetadata) RunImageNames() []string {
	names := append([]string{m.RunImage.Image}, m.RunImage.Mirrors...)
	if m.Stack != nil {
		names = append(names, m.Stack.RunImage.Image)
		names = append(names, m.Stack.RunImage.Mirrors...)
	}
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// LayerRoles maps the diffIDs the label records to the layers' IDs, as
// the exporter names them: "<buildpack>:<layer>", "slice-N" for app
// slices, and buildpacksio/lifecycle:launcher, :config, :process-types and
// :launch.sbom for its own.
func (m *LifecycleMetadata) LayerRoles() map[string]string {
	roles := map[string]string{}
	add := func(sha, role string) {
		if sha != "" {
			if _, ok := roles[sha]; !ok {
				roles[sha] = role
			}
		}
	}
	for _, b := range m.Buildpacks {
		for _, name := range sortedKeys(b.Layers) {
			add(b.Layers[name].SHA, b.ID+":"+name)
		}
	}
	if m.SBOM != nil {
		add(m.SBOM.SHA, sbomLayerID)
	}
	for i, a := range m.App {
		add(a.SHA, fmt.Sprintf("slice-%d", i+1))
	}
	add(m.Launcher.SHA, launcherLayerID)
	add(m.Config.SHA, configLayerID)
	add(m.ProcessTypes.SHA, processTypesLayerID)
	return roles
}

// RunImageReference is what runImage.reference records for a run image read
// by name: NAME@DIGEST (the repository with the manifest digest, as the spec
// asks) for a registry image, the manifest digest alone for a layout or an
// archive.
func RunImageReference(img v1.Image, name string) (string, error) {
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("reading run image %s digest: %w", name, err)
	}
	ref, err := oci.ParseReference(name)
	if err == nil && ref.Kind == oci.KindRegistry {
		return ref.Name.Context().Digest(d.String()).String(), nil
	}
	return d.String(), nil
}
