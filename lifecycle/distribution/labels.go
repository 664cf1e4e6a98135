package distribution

// Labels of builder images, besides BuildpackLayersLabel and the extension
// labels (CNB contract §5.1).
const (
	// BuilderMetadataLabel describes a builder: its buildpacks, run images,
	// lifecycle and creator (BuilderMetadata).
	BuilderMetadataLabel = "io.buildpacks.builder.metadata"
	// BuildpackOrderLabel is the builder's order as builder.toml wrote it:
	// versions may be missing (/cnb/order.toml has them resolved).
	BuildpackOrderLabel = "io.buildpacks.buildpack.order"
	// OrderExtensionsLabel is BuildpackOrderLabel for image extensions.
	OrderExtensionsLabel = "io.buildpacks.buildpack.order-extensions"
	// SystemLabel is the builder's [system] buildpacks.
	SystemLabel = "io.buildpacks.buildpack.system"
	// StackIDLabel is the deprecated stack id of build and run images.
	StackIDLabel = "io.buildpacks.stack.id"
	// MixinsLabel lists the deprecated stack mixins (a JSON array or null).
	MixinsLabel = "io.buildpacks.stack.mixins"
	// DistroNameLabel and DistroVersionLabel are the build image's
	// /etc/os-release ID and VERSION_ID.
	DistroNameLabel    = "io.buildpacks.base.distro.name"
	DistroVersionLabel = "io.buildpacks.base.distro.version"
)

// BuilderMetadata is the io.buildpacks.builder.metadata label, with pack's
// key names. pack build refuses a builder whose Lifecycle lacks a version or
// supported API lists, or that has no run image.
type BuilderMetadata struct {
	Description string       `json:"description"`
	Buildpacks  []ModuleInfo `json:"buildpacks"`
	Extensions  []ModuleInfo `json:"extensions,omitempty"`
	// Stack holds the first run image, for platforms older than run.toml.
	Stack     StackMetadata     `json:"stack"`
	Lifecycle LifecycleMetadata `json:"lifecycle"`
	CreatedBy CreatorMetadata   `json:"createdBy"`
	// Images are the run images, the default first.
	Images []RunImage `json:"images,omitempty"`
}

// ModuleInfo is a buildpack or extension in BuilderMetadata.
type ModuleInfo struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	Version     string    `json:"version"`
	Description string    `json:"description,omitempty"`
	Homepage    string    `json:"homepage,omitempty"`
	Keywords    []string  `json:"keywords,omitempty"`
	Licenses    []License `json:"licenses,omitempty"`
	ClearEnv    bool      `json:"clear-env,omitempty"`
}

// StackMetadata is BuilderMetadata's "stack".
type StackMetadata struct {
	RunImage RunImage `json:"runImage"`
}

// LifecycleMetadata is the lifecycle a builder carries: its version and the
// API versions it supports.
type LifecycleMetadata struct {
	Version string `json:"version"`
	// API is the deprecated single-version form: the earliest of each list.
	API  LifecycleAPI  `json:"api"`
	APIs LifecycleAPIs `json:"apis"`
}

// LifecycleAPI is LifecycleMetadata's deprecated "api".
type LifecycleAPI struct {
	Buildpack string `json:"buildpack"`
	Platform  string `json:"platform"`
}

// LifecycleAPIs lists the Buildpack and Platform API versions a lifecycle
// supports.
type LifecycleAPIs struct {
	Buildpack APIVersions `json:"buildpack"`
	Platform  APIVersions `json:"platform"`
}

// APIVersions are supported and deprecated (still accepted) API versions.
type APIVersions struct {
	Deprecated []string `json:"deprecated"`
	Supported  []string `json:"supported"`
}

// CreatorMetadata names the tool that made a builder.
type CreatorMetadata struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// SystemMetadata is the io.buildpacks.buildpack.system label: the [system]
// buildpacks run before and after every group.
type SystemMetadata struct {
	Pre  SystemModules `json:"pre"`
	Post SystemModules `json:"post"`
}

// SystemModules is SystemMetadata's "pre" or "post".
type SystemModules struct {
	Buildpacks []ModuleRef `json:"buildpacks,omitempty"`
}

// moduleInfo is d as BuilderMetadata lists it.
func (d Descriptor) moduleInfo() ModuleInfo {
	return ModuleInfo{ID: d.ID, Name: d.Name, Version: d.Version, Description: d.Description,
		Homepage: d.Homepage, Keywords: d.Keywords, Licenses: d.Licenses, ClearEnv: d.ClearEnv}
}
