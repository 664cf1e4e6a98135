package distribution

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/oci"
)

// KilnAPIs are the API versions kiln's own lifecycle implements (package
// lifecycle/api), which a builder without a lifecycle archive declares.
var KilnAPIs = LifecycleAPIs{
	Buildpack: APIVersions{Deprecated: []string{}, Supported: api.Buildpack.Versions()},
	Platform:  APIVersions{Deprecated: []string{}, Supported: api.Platform.Versions()},
}

// kilnLifecycle is the lifecycle metadata of a builder carrying kiln's own
// lifecycle: kiln's version and API ranges.
func kilnLifecycle(version string) LifecycleMetadata {
	return LifecycleMetadata{Version: version, APIs: KilnAPIs, API: LifecycleAPI{
		Buildpack: KilnAPIs.Buildpack.Supported[0], Platform: KilnAPIs.Platform.Supported[0]}}
}

// lifecycleBinaries are the binaries pack requires in a lifecycle archive.
var lifecycleBinaries = []string{"analyzer", "builder", "creator", "detector", "exporter", "launcher", "restorer"}

// lifecycleDescriptor is lifecycle.toml.
type lifecycleDescriptor struct {
	APIs      *LifecycleAPIs `toml:"apis"`
	API       LifecycleAPI   `toml:"api"`
	Lifecycle struct {
		Version string `toml:"version"`
	} `toml:"lifecycle"`
}

// readLifecycleArchive reads the lifecycle.toml of a lifecycle tarball
// (.tgz or .tar) and checks that it holds pack's required binaries.
func readLifecycleArchive(file string) (LifecycleMetadata, error) {
	var desc lifecycleDescriptor
	found := map[string]bool{}
	haveDescriptor := false
	err := walkLifecycleArchive(file, func(name string, hdr *tar.Header, r io.Reader) error {
		if name == "lifecycle.toml" {
			if _, err := toml.NewDecoder(io.LimitReader(r, 1<<20)).Decode(&desc); err != nil {
				return fmt.Errorf("%w: lifecycle.toml: %v", ErrInvalidLifecycle, err)
			}
			haveDescriptor = true
		} else if bin, ok := lifecycleBinary(name); ok {
			found[strings.TrimSuffix(bin, ".exe")] = true
		}
		return nil
	})
	if err != nil {
		return LifecycleMetadata{}, fmt.Errorf("reading lifecycle %s: %w", file, err)
	}
	if !haveDescriptor || desc.Lifecycle.Version == "" {
		return LifecycleMetadata{}, fmt.Errorf("reading lifecycle %s: %w: no lifecycle.toml with a version", file, ErrInvalidLifecycle)
	}
	for _, b := range lifecycleBinaries {
		if !found[b] {
			return LifecycleMetadata{}, fmt.Errorf("reading lifecycle %s: %w: no lifecycle/%s", file, ErrInvalidLifecycle, b)
		}
	}
	md := LifecycleMetadata{Version: desc.Lifecycle.Version, API: desc.API}
	if desc.APIs != nil {
		md.APIs = *desc.APIs
		md.API = LifecycleAPI{Buildpack: earliestAPI(md.APIs.Buildpack), Platform: earliestAPI(md.APIs.Platform)}
	} else {
		md.APIs = LifecycleAPIs{
			Buildpack: APIVersions{Supported: []string{desc.API.Buildpack}},
			Platform:  APIVersions{Supported: []string{desc.API.Platform}},
		}
	}
	for _, v := range []*APIVersions{&md.APIs.Buildpack, &md.APIs.Platform} {
		if v.Deprecated == nil {
			v.Deprecated = []string{}
		}
		if len(v.Supported) == 0 || v.Supported[0] == "" {
			return LifecycleMetadata{}, fmt.Errorf("reading lifecycle %s: %w: lifecycle.toml lists no supported APIs", file, ErrInvalidLifecycle)
		}
		// The builder's metadata label carries these lists to pack, which
		// parses each one.
		for _, s := range slices.Concat(v.Deprecated, v.Supported) {
			if _, err := api.Parse(s); err != nil {
				return LifecycleMetadata{}, fmt.Errorf("reading lifecycle %s: %w: lifecycle.toml: %v", file, ErrInvalidLifecycle, err)
			}
		}
	}
	return md, nil
}

// earliestAPI is the lowest version of both lists.
func earliestAPI(v APIVersions) string {
	all := slices.Concat(v.Deprecated, v.Supported)
	if len(all) == 0 {
		return ""
	}
	return slices.MinFunc(all, func(a, b string) int {
		am, an, _ := parseAPIVersion(a)
		bm, bn, _ := parseAPIVersion(b)
		if am != bm {
			return am - bm
		}
		return an - bn
	})
}

// lifecycleBinary reports whether an archive entry is lifecycle/<binary>.
func lifecycleBinary(name string) (string, bool) {
	dir, bin, ok := strings.Cut(name, "/")
	return bin, ok && dir == "lifecycle" && bin != "" && !strings.Contains(bin, "/")
}

// walkLifecycleArchive calls fn for every entry of the archive, with its
// name cleaned of leading "/" and "./".
func walkLifecycleArchive(file string, fn func(name string, hdr *tar.Header, r io.Reader) error) error {
	r, c, err := openArchive(file)
	if err != nil {
		return err
	}
	defer c.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidLifecycle, err)
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if err := fn(name, hdr, tr); err != nil {
			return err
		}
	}
}

// writeLifecycleBinaries adds the archive's lifecycle/<binary> files (and
// links) to w as /cnb/lifecycle/<binary>, root-owned, mode 0755: they are
// all executables.
func writeLifecycleBinaries(w *oci.LayerWriter, file string) error {
	return walkLifecycleArchive(file, func(name string, hdr *tar.Header, r io.Reader) error {
		bin, ok := lifecycleBinary(name)
		if !ok {
			return nil
		}
		dst := lifecycleDir + "/" + bin
		switch hdr.Typeflag {
		case tar.TypeReg:
			return w.File(dst, 0o755, 0, 0, hdr.Size, r)
		case tar.TypeSymlink:
			return w.SymlinkMode(dst, hdr.Linkname, fs.FileMode(hdr.Mode).Perm(), 0, 0) // the archive's mode, as pack keeps it
		}
		return nil
	})
}
