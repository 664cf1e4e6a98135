package appimage

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kilnbuild/kiln/lifecycle"
)

// ImageInfo is what an app image says about itself through its labels and
// config: what pack's inspect shows, as a plain struct whose JSON field
// names are stable for scripts.
type ImageInfo struct {
	// Image is the reference the image was read from; Inspect leaves it
	// for the caller to fill in.
	Image  string `json:"image,omitempty"`
	Digest string `json:"digest"`
	// Created is the config's created time (RFC 3339).
	Created      string `json:"created"`
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
	// PlatformAPI is the image's CNB_PLATFORM_API.
	PlatformAPI string `json:"platform_api,omitempty"`
	// Stack is io.buildpacks.stack.id; Distro the
	// io.buildpacks.base.distro.* labels.
	Stack  string      `json:"stack,omitempty"`
	Distro *DistroInfo `json:"distro,omitempty"`
	// Rebasable is false only when io.buildpacks.rebasable says "false".
	Rebasable bool `json:"rebasable"`
	// RunImage is the run image the app was built on.
	RunImage   RunImageInfo `json:"run_image"`
	Buildpacks []ModuleInfo `json:"buildpacks"`
	Extensions []ModuleInfo `json:"extensions,omitempty"`
	// Processes are the build's processes; DefaultProcess the one the
	// entrypoint starts ("" when it is the bare launcher).
	Processes      []ProcessInfo `json:"processes"`
	DefaultProcess string        `json:"default_process,omitempty"`
	// Launcher is the launcher's version.
	Launcher string `json:"launcher,omitempty"`
	// BaseLayers are the run image's layers (up to runImage.topLayer),
	// AppLayers the buildpacks', the app's and the lifecycle's above them.
	BaseLayers []LayerInfo `json:"base_layers"`
	AppLayers  []LayerInfo `json:"app_layers"`
	// BaseSize and AppSize are the compressed sizes of those layers.
	BaseSize int64 `json:"base_size"`
	AppSize  int64 `json:"app_size"`
}

// DistroInfo is a base image's distribution.
type DistroInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// RunImageInfo is the run image recorded in the lifecycle label.
type RunImageInfo struct {
	Image     string   `json:"image,omitempty"`
	Mirrors   []string `json:"mirrors,omitempty"`
	Reference string   `json:"reference,omitempty"`
	TopLayer  string   `json:"top_layer,omitempty"`
}

// ModuleInfo is a buildpack (or extension) of the build's group.
type ModuleInfo struct {
	ID       string `json:"id"`
	Version  string `json:"version"`
	Homepage string `json:"homepage,omitempty"`
}

// ProcessInfo is a process type of the image. WorkingDir is where it
// starts: its own working-dir, else the image's (the app directory).
type ProcessInfo struct {
	Type        string   `json:"type"`
	Command     []string `json:"command"`
	Args        []string `json:"args"`
	Direct      bool     `json:"direct"`
	WorkingDir  string   `json:"working_dir,omitempty"`
	BuildpackID string   `json:"buildpack_id,omitempty"`
	Default     bool     `json:"default"`
}

// LayerInfo is one layer of the image.
type LayerInfo struct {
	DiffID string `json:"diff_id"`
	Digest string `json:"digest"`
	// Size is the compressed size in bytes.
	Size int64 `json:"size"`
	// Role names the layer as the lifecycle label records it, with the
	// IDs pack prints: "<buildpack id>:<layer>", "slice-<i>" (app layers),
	// "buildpacksio/lifecycle:launch.sbom", "buildpacksio/lifecycle:launcher",
	// "buildpacksio/lifecycle:config", "buildpacksio/lifecycle:process-types";
	// "" for the run image's and unknown layers.
	Role string `json:"role,omitempty"`
	// CreatedBy is the layer's history entry.
	CreatedBy string `json:"created_by,omitempty"`
}

// Inspect reads what img says about itself. Only its manifest and config
// are read, never a layer, so a registry image read without a store costs
// two small requests. An image without buildpack labels is not an error:
// its fields are empty and every layer counts as base.
func Inspect(img v1.Image) (*ImageInfo, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("inspecting image: reading config: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("inspecting image: reading manifest: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("inspecting image: %w", err)
	}
	labels := cf.Config.Labels
	info := &ImageInfo{
		Digest: d.String(), Created: cf.Created.UTC().Format("2006-01-02T15:04:05Z"),
		OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant,
		PlatformAPI: envLookup(cf.Config.Env, "CNB_PLATFORM_API"),
		Stack:       labels[LabelStackID],
		Rebasable:   labels[LabelRebasable] != "false",
		Buildpacks:  []ModuleInfo{}, Processes: []ProcessInfo{},
		BaseLayers: []LayerInfo{}, AppLayers: []LayerInfo{},
	}
	if n, v := labels[LabelDistroName], labels[LabelDistroVersion]; n != "" || v != "" {
		info.Distro = &DistroInfo{Name: n, Version: v}
	}
	meta, _, err := lifecycle.ParseLifecycleMetadata(labels)
	if err != nil {
		return nil, fmt.Errorf("inspecting image: %w", err)
	}
	info.RunImage = RunImageInfo{Image: meta.RunImage.Image, Mirrors: meta.RunImage.Mirrors,
		Reference: meta.RunImage.Reference, TopLayer: meta.RunImage.TopLayer}
	if info.RunImage.Image == "" && meta.Stack != nil {
		info.RunImage.Image, info.RunImage.Mirrors = meta.Stack.RunImage.Image, meta.Stack.RunImage.Mirrors
	}
	if info.RunImage.Image == "" {
		info.RunImage.Image = labels[lifecycle.LabelLocalRunImage] // kiln's record of a local run image
	}
	if err := info.readBuildLabel(labels[lifecycle.LabelBuildMetadata], cf.Config.Entrypoint, cf.Config.WorkingDir); err != nil {
		return nil, err
	}
	if len(m.Layers) != len(cf.RootFS.DiffIDs) {
		return nil, fmt.Errorf("inspecting image: %d layers and %d diffIDs", len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	info.splitLayers(m.Layers, cf, &meta)
	return info, nil
}

// readBuildLabel fills in the buildpacks, the processes and the default
// process: the one the entrypoint /cnb/process/<type> starts. Processes
// without a working directory start in the image's, workDir.
func (info *ImageInfo) readBuildLabel(raw string, entrypoint []string, workDir string) error {
	if raw == "" {
		return nil
	}
	var bl lifecycle.BuildLabel
	if err := json.Unmarshal([]byte(raw), &bl); err != nil {
		return fmt.Errorf("inspecting image: parsing label %s: %w", lifecycle.LabelBuildMetadata, err)
	}
	for _, b := range bl.Buildpacks {
		info.Buildpacks = append(info.Buildpacks, ModuleInfo(b))
	}
	for _, b := range bl.Extensions {
		info.Extensions = append(info.Extensions, ModuleInfo(b))
	}
	info.Launcher = bl.Launcher.Version
	if len(entrypoint) == 1 && path.Dir(entrypoint[0]) == lifecycle.ProcessDir {
		info.DefaultProcess = path.Base(entrypoint[0])
	}
	for _, p := range bl.Processes {
		if p.WorkingDir == "" {
			p.WorkingDir = workDir
		}
		info.Processes = append(info.Processes, ProcessInfo{
			Type: p.Type, Command: orEmpty(p.Command.Entries), Args: orEmpty(p.Args), Direct: p.Direct,
			WorkingDir: p.WorkingDir, BuildpackID: p.BuildpackID, Default: p.Type == info.DefaultProcess,
		})
	}
	return nil
}

// splitLayers puts the layers up to runImage.topLayer in BaseLayers and
// the others in AppLayers, naming each by its role in the lifecycle label.
func (info *ImageInfo) splitLayers(descs []v1.Descriptor, cf *v1.ConfigFile, meta *lifecycle.LifecycleMetadata) {
	roles := meta.LayerRoles()
	top := indexOfDiffID(cf.RootFS.DiffIDs, meta.RunImage.TopLayer)
	if meta.RunImage.TopLayer == "" {
		top = len(descs) - 1
	}
	var hist []v1.History
	if nonEmpty(cf.History) == len(descs) {
		for _, h := range cf.History {
			if !h.EmptyLayer {
				hist = append(hist, h)
			}
		}
	}
	for i, d := range descs {
		l := LayerInfo{DiffID: cf.RootFS.DiffIDs[i].String(), Digest: d.Digest.String(), Size: d.Size}
		if hist != nil {
			l.CreatedBy = hist[i].CreatedBy
		}
		if i <= top {
			info.BaseLayers = append(info.BaseLayers, l)
			info.BaseSize += l.Size
			continue
		}
		l.Role = roles[l.DiffID]
		info.AppLayers = append(info.AppLayers, l)
		info.AppSize += l.Size
	}
}

// envLookup returns the value of key in a KEY=VALUE list ("" when unset).
func envLookup(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// orEmpty returns s, or an empty (not nil) slice, so JSON shows [].
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
