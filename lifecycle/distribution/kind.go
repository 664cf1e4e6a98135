package distribution

// Labels of extension packages and builders.
const (
	// ExtensionMetadataLabel marks an image extension package and names its
	// extension.
	ExtensionMetadataLabel = "io.buildpacks.extension.metadata"
	// ExtensionLayersLabel is BuildpackLayersLabel for image extensions.
	ExtensionLayersLabel = "io.buildpacks.extension.layers"
	// ExtensionDescriptorFile is an image extension's descriptor file name.
	ExtensionDescriptorFile = "extension.toml"
)

// moduleKind holds what differs between buildpacks and image extensions.
type moduleKind struct {
	descriptor    string // buildpack.toml
	table         string // [buildpack]
	dir           string // cnb/buildpacks, relative to the image root
	layersLabel   string
	metadataLabel string
}

var (
	buildpackKind = moduleKind{DescriptorFile, "buildpack", "cnb/buildpacks", BuildpackLayersLabel, BuildpackageMetadataLabel}
	extensionKind = moduleKind{ExtensionDescriptorFile, "extension", "cnb/extensions", ExtensionLayersLabel, ExtensionMetadataLabel}
)
