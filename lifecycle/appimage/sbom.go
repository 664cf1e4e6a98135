package appimage

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/oci"
)

// ErrNoSBOM is returned by ExtractSBOM for an image without an SBOM layer
// (no buildpack wrote one, or a Platform API before 0.8).
var ErrNoSBOM = errors.New("the image has no SBOM layer")

// ExtractSBOM writes the files of img's launch SBOM layer under dst, as pack
// sbom download does: dst/layers/sbom/launch/<buildpack>/... Only that
// layer is read (a registry image's other layers are not fetched); it is
// unpacked with oci.UnpackLayer's rules (no escapes, no ownership, no
// devices), since an image is hostile.
func ExtractSBOM(ctx context.Context, img v1.Image, dst string) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	md, ok, err := lifecycle.ParseLifecycleMetadata(cf.Config.Labels)
	if err != nil {
		return err
	}
	if !ok || md.SBOM == nil || md.SBOM.SHA == "" {
		return ErrNoSBOM
	}
	diffID, err := v1.NewHash(md.SBOM.SHA)
	if err != nil {
		return fmt.Errorf("parsing the SBOM layer's diff ID %q: %w", md.SBOM.SHA, err)
	}
	layer, err := img.LayerByDiffID(diffID)
	if err != nil {
		return fmt.Errorf("finding the SBOM layer %s: %w", diffID, err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return fmt.Errorf("reading the SBOM layer %s: %w", diffID, err)
	}
	defer rc.Close()
	if err := oci.UnpackLayer(ctx, rc, dst, oci.UnpackOptions{Rootless: true}); err != nil {
		return fmt.Errorf("unpacking the SBOM layer %s: %w", diffID, err)
	}
	return nil
}
