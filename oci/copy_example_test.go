package oci_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/kilnbuild/kiln/oci"
)

// Moving an image into an air-gapped site: copy it from a registry (here, a
// layout standing in for one) into a docker archive or a layout to carry
// across, then into the site's registry. Layouts and registries keep the
// digest; a docker archive may not, and the result says so.
func ExampleCopy() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kiln-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	img, err := random.Image(1024, 1)
	if err != nil {
		panic(err)
	}
	src, _ := oci.ParseReference("oci:" + filepath.Join(dir, "stack") + ":run")
	if _, err := oci.Write(ctx, src, img); err != nil {
		panic(err)
	}

	dst, _ := oci.ParseReference("oci:" + filepath.Join(dir, "usb-stick") + ":run")
	res, err := oci.Copy(ctx, src, dst)
	if err != nil {
		panic(err)
	}
	fmt.Println("digest kept:", !res.DigestChanged && res.Digest == res.Source)
	// Output: digest kept: true
}
