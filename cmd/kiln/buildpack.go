package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/oci"
)

func init() { subcommandFactories = append(subcommandFactories, newBuildpackCmd) }

const buildpackPackageUsage = `Package a buildpack (or image extension) as pack buildpack package does.

package.toml names the buildpack ([buildpack] uri, default the file's
directory) and, for a composite buildpack, its [[dependencies]]: directories,
.tgz archives, .cnb files or buildpackage images. Each buildpack gets its own
layer under /cnb/buildpacks/<id>/<version>, and the image carries the
io.buildpacks.buildpackage.metadata and io.buildpacks.buildpack.layers labels,
so pack and kiln read it alike.

OUT is a .cnb file (an OCI layout in a tar, as pack writes it) or any image
reference: oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG] or a registry name.
--format says which when the name does not (default: file when OUT ends in
.cnb). The same inputs give the same digest; SOURCE_DATE_EPOCH sets the
created time. The manifest digest is printed on stdout.`

func newBuildpackCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "buildpack", Short: "Package buildpacks"}
	cmd.AddCommand(newBuildpackPackageCmd(g))
	return cmd
}

// packageFlags are `kiln buildpack package`'s flags.
type packageFlags struct {
	config, format, path string
	tags                 []string
	packCheck            func(*cobra.Command) error
}

func newBuildpackPackageCmd(g *globalFlags) *cobra.Command {
	f := &packageFlags{}
	cmd := &cobra.Command{
		Use:   "package OUT [--config package.toml | --path DIR] [--format file|image]",
		Short: "Package a buildpack as a .cnb file or a buildpackage image",
		Long:  buildpackPackageUsage,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.packCheck(cmd); err != nil {
				return err
			}
			return runBuildpackPackage(cmd, g, args[0], f)
		},
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "package.toml describing the buildpackage (default ./package.toml when present)")
	cmd.Flags().StringVarP(&f.format, "format", "f", "", "file (a .cnb) or image (default: file when OUT ends in .cnb)")
	cmd.Flags().StringVarP(&f.path, "path", "p", "", "the buildpack's directory, without a package.toml (default .)")
	cmd.Flags().StringSliceVar(&f.tags, "tag", nil, "also write the buildpackage image to this reference (repeatable, or comma-separated)")
	cmd.Flags().Bool("publish", false, "accepted for pack's sake: a registry OUT is always pushed directly")
	f.packCheck = addPackFlags(cmd, "buildpack package")
	return cmd
}

// packageConfig reads --config, or makes the configuration of the buildpack
// in --path (default .) when no package.toml is given or present, as pack
// does.
func (f *packageFlags) packageConfig() (*distribution.PackageConfig, error) {
	config := f.config
	if config == "" && f.path == "" {
		if _, err := os.Stat("package.toml"); err == nil {
			config = "package.toml"
		}
	}
	if config != "" {
		if f.path != "" {
			return nil, errors.New("give --config or --path, not both (package.toml names the buildpack in [buildpack] uri)")
		}
		cfg, err := distribution.ReadPackageConfig(config)
		if err != nil {
			return nil, err
		}
		return cfg, cfg.CheckPaths()
	}
	dir := cmp.Or(f.path, ".")
	if _, err := os.Stat(filepath.Join(dir, "buildpack.toml")); err != nil {
		return nil, fmt.Errorf("no package.toml and no buildpack.toml in %s: give --config package.toml, or --path to the buildpack's directory", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &distribution.PackageConfig{Buildpack: distribution.PackageModule{URI: abs}, Platform: distribution.PackagePlatform{OS: "linux"},
		Path: filepath.Join(abs, "package.toml")}, nil
}

func runBuildpackPackage(cmd *cobra.Command, g *globalFlags, out string, f *packageFlags) error {
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	format := f.format
	switch format {
	case "":
		format = "image"
		if strings.HasSuffix(out, ".cnb") {
			format = "file"
		}
	case "file", "image":
	default:
		return fmt.Errorf("--format %q: want file or image", format)
	}
	var ref oci.Reference
	if format == "image" {
		if _, err := os.Stat(out); !hasRefPrefix(out) && (err == nil || oci.LooksLikePath(out)) {
			return fmt.Errorf("OUT %s is a path, not a registry reference: a buildpackage file is written with a .cnb name (or --format file), an image as %s", out, refSyntax)
		}
		var err error
		if ref, err = parseImageArg("OUT", out, refOutput); err != nil {
			return err
		}
	}
	tagRefs, err := parseTags(f.tags)
	if err != nil {
		return err
	}
	if len(tagRefs) > 0 && format == "file" {
		return errors.New("--tag names more images, but --format file writes a .cnb file: drop --tag, or package an image")
	}
	cfg, err := f.packageConfig()
	if err != nil {
		return err
	}
	w, err := newDistWriter(g, stderr)
	if err != nil {
		return err
	}
	defer w.close()
	img, err := distribution.PackageBuildpack(ctx, cfg, w.options()...)
	if err != nil {
		return err
	}
	var h v1.Hash
	if format == "file" {
		if err := distribution.WriteCNB(ctx, img, out); err != nil {
			return err
		}
		if h, err = img.Digest(); err != nil {
			return err
		}
	} else if h, err = oci.Write(ctx, ref, img, w.oci...); err != nil {
		return err
	}
	for _, t := range tagRefs {
		if _, err := oci.Write(ctx, t, img, w.oci...); err != nil {
			return fmt.Errorf("writing --tag %s: %w", t, err)
		}
	}
	fmt.Fprintln(cmd.OutOrStdout(), h)
	return nil
}

// distWriter holds what `kiln buildpack package` and `kiln builder create`
// share: the oci options (store, pull policy, progress), a work directory
// in the store for the layers written, the created time.
type distWriter struct {
	g     *globalFlags
	oci   []oci.Option
	work  string
	log   io.Writer
	extra []distribution.WriteOption
}

func newDistWriter(g *globalFlags, stderr io.Writer) (*distWriter, error) {
	opts, err := g.ociOptions(stderr)
	if err != nil {
		return nil, err
	}
	store, err := g.openStore()
	if err != nil {
		return nil, err
	}
	created, err := sourceDateEpoch()
	if err != nil {
		return nil, err
	}
	work, err := store.NewWorkDir("dist-")
	if err != nil {
		return nil, err
	}
	w := &distWriter{g: g, oci: opts, work: work, log: stderr}
	if !created.IsZero() {
		w.extra = append(w.extra, distribution.WithCreated(created))
	}
	return w, nil
}

// options are the library options: buildpack images read through the
// store, layers written in the work directory.
func (w *distWriter) options(extra ...distribution.WriteOption) []distribution.WriteOption {
	reader := func(ctx context.Context, ref string) (v1.Image, error) {
		r, err := oci.ParseReference(ref)
		if err != nil {
			return nil, err
		}
		return oci.Read(ctx, r, w.oci...)
	}
	opts := []distribution.WriteOption{
		distribution.WithTempDir(w.work),
		distribution.WithFetchOptions(distribution.WithImageReader(reader), distribution.WithLogger(w.g.logger(w.log))),
	}
	return append(append(opts, w.extra...), extra...)
}

// close removes the work directory (and the layers written there); what
// is left is retired with the store.
func (w *distWriter) close() { os.RemoveAll(w.work) }
