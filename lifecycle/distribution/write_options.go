package distribution

import (
	"errors"
	"os"
	"time"

	"github.com/kilnbuild/kiln/oci"
)

// WriteOption configures PackageBuildpack and CreateBuilder.
type WriteOption func(*writeOptions) error

type writeOptions struct {
	fetch    []Option
	store    *oci.Store
	tempDir  string
	created  time.Time
	launcher func(arch string) ([]byte, error)
	kiln     kilnLifecycleOption
	creator  CreatorMetadata
}

func makeWriteOptions(opts []WriteOption) (*writeOptions, error) {
	o := &writeOptions{created: oci.Epoch, creator: CreatorMetadata{Name: "kiln"}}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// layerOptions are the options of every layer written: root-owned, Epoch
// (or WithCreated) mtimes, blobs in the store or the temp directory.
func (o *writeOptions) layerOptions() oci.LayerOptions {
	return oci.LayerOptions{TempDir: o.tempDir, Store: o.store, ModTime: oci.Epoch}
}

// stageDir makes the directory buildpacks are laid out in while writing.
func (o *writeOptions) stageDir(pattern string) (string, error) {
	dir := o.tempDir
	if dir == "" {
		dir = os.TempDir()
	}
	return os.MkdirTemp(dir, pattern)
}

// WithFetchOptions passes options to FetchBuildpacks (image reader, logger,
// HTTP client) for the buildpacks the configuration names.
func WithFetchOptions(opts ...Option) WriteOption {
	return func(o *writeOptions) error {
		o.fetch = append(o.fetch, opts...)
		return nil
	}
}

// WithLayerStore writes the layers into the store (as blobs, with their
// diffID memo) instead of temp files.
func WithLayerStore(s *oci.Store) WriteOption {
	return func(o *writeOptions) error {
		o.store = s
		return nil
	}
}

// WithTempDir sets where buildpacks are staged and, without a store, where
// the layers' files are written (default os.TempDir()). The returned image
// reads those files: remove the directory once the image is written.
func WithTempDir(dir string) WriteOption {
	return func(o *writeOptions) error {
		o.tempDir = dir
		return nil
	}
}

// WithCreated sets the config's and history's created time (default
// oci.Epoch; the CLI passes SOURCE_DATE_EPOCH). Layer entries keep Epoch.
func WithCreated(t time.Time) WriteOption {
	return func(o *writeOptions) error {
		o.created = t.UTC()
		return nil
	}
}

// WithLauncher gives CreateBuilder the launcher binary for linux/<arch>,
// placed at /cnb/lifecycle/launcher when builder.toml names no lifecycle
// archive. Library code never reads one from disk.
func WithLauncher(fn func(arch string) ([]byte, error)) WriteOption {
	return func(o *writeOptions) error {
		if fn == nil {
			return errors.New("nil launcher function")
		}
		o.launcher = fn
		return nil
	}
}

// kilnLifecycleOption is WithKilnLifecycle's.
type kilnLifecycleOption struct {
	version string
	phases  func(arch string) ([]byte, error)
}

// WithKilnLifecycle names kiln's own lifecycle, which CreateBuilder puts in a
// builder whose builder.toml names no lifecycle archive: version is what the
// builder metadata declares (kiln's version, with the API ranges of package
// lifecycle/api), and phases, when not nil, returns the multi-call binary
// for linux/<arch> that /cnb/lifecycle/{creator,analyzer,…} name (nil
// bytes: none for that architecture, the builder then has the launcher
// only).
func WithKilnLifecycle(version string, phases func(arch string) ([]byte, error)) WriteOption {
	return func(o *writeOptions) error {
		if version == "" {
			return errors.New("no kiln lifecycle version")
		}
		o.kiln = kilnLifecycleOption{version: version, phases: phases}
		return nil
	}
}

// WithCreator sets the builder metadata's createdBy (default name "kiln").
func WithCreator(name, version string) WriteOption {
	return func(o *writeOptions) error {
		o.creator = CreatorMetadata{Name: name, Version: version}
		return nil
	}
}
