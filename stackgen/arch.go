package stackgen

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// debianArches maps an OCI architecture (and variant) to Debian's name.
var debianArches = map[string]string{
	"amd64": "amd64", "arm64": "arm64", "arm/v7": "armhf", "arm/v5": "armel", "arm/v6": "armel", "arm": "armhf",
	"386": "i386", "ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el",
}

// ociPlatform is the inverse of debianArches.
func ociPlatform(debArch string) (v1.Platform, error) {
	for k, v := range debianArches {
		if v == debArch && k != "arm" && k != "arm/v6" {
			arch, variant, _ := strings.Cut(k, "/")
			return v1.Platform{OS: "linux", Architecture: arch, Variant: variant}, nil
		}
	}
	return v1.Platform{}, fmt.Errorf("unknown Debian architecture %q: %w", debArch, ErrConfig)
}

func debianArchOf(arch, variant string) (string, error) {
	if a, ok := debianArches[arch+"/"+variant]; ok && variant != "" {
		return a, nil
	}
	if a, ok := debianArches[arch]; ok {
		return a, nil
	}
	return "", fmt.Errorf("no Debian architecture for %s/%s: %w", arch, variant, ErrConfig)
}

// debianArch is the architecture packages are resolved for: the spec's,
// else the base image's, else the running program's.
func (o *options) debianArch(ctx context.Context, spec Spec, is ImageSpec) (string, error) {
	if spec.Debian.Architecture != "" {
		return spec.Debian.Architecture, nil
	}
	if is.Base != "" && !strings.HasPrefix(is.Base, rootfsPrefix) {
		img, err := o.readImage(ctx, is.Base)
		if err != nil {
			return "", err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return "", fmt.Errorf("reading config of %s: %w", is.Base, err)
		}
		return debianArchOf(cf.Architecture, cf.Variant)
	}
	return debianArchOf(runtime.GOARCH, "")
}
