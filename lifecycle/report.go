package lifecycle

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ExportReport is what Exporter.Run did, as data: every layer it appended,
// in image order, and the entrypoint it chose. The CLI's --report
// serialises it as JSON, together with the digest of the written image.
type ExportReport struct {
	Layers []LayerReport `json:"layers"`
	// DefaultProcess is the process type the entrypoint starts; "" when the
	// entrypoint is the bare launcher.
	DefaultProcess string   `json:"defaultProcess,omitempty"`
	Entrypoint     []string `json:"entrypoint"`
	// CompressedBytes counts the file content of the layers written anew
	// (tarred and compressed); layers found again by their content add
	// nothing.
	CompressedBytes int64 `json:"compressedBytes,omitempty"`
}

// LayerReport is one appended layer.
type LayerReport struct {
	// ID names the layer as pack prints it: "<buildpack id>:<layer>",
	// "buildpacksio/lifecycle:launch.sbom", "slice-<i>" for app layers,
	// "buildpacksio/lifecycle:launcher", ":config", ":process-types".
	ID string `json:"id"`
	// CreatedBy is the history entry of the layer.
	CreatedBy string  `json:"createdBy"`
	DiffID    v1.Hash `json:"diffID"`
	Digest    v1.Hash `json:"digest"`
	// Size is the compressed size in bytes.
	Size int64 `json:"size"`
	// Reused is true when the previous image already had this diffID for
	// the same role, so a registry already holds the blob.
	Reused bool `json:"reused"`
}

// Report is report.toml, which the platform writes after the export
// (CNB contract §2.3): the tags written and the manifest digest and size.
type Report struct {
	Image ImageReport `toml:"image"`
}

// ImageReport is report.toml's [image].
type ImageReport struct {
	Tags         []string `toml:"tags"`
	ImageID      string   `toml:"image-id,omitempty"`
	Digest       string   `toml:"digest,omitempty"`
	ManifestSize int64    `toml:"manifest-size,omitempty"`
}

// WriteReport writes r to path (report.toml) atomically.
func WriteReport(path string, r Report) error {
	if err := writeTOML(path, r); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return nil
}
