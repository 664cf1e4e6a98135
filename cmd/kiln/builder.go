package main

import (
	"fmt"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
	"github.com/kilnbuild/kiln/oci"
)

func init() { subcommandFactories = append(subcommandFactories, newBuilderCmd) }

const builderCreateUsage = `Make a builder image from builder.toml, as pack builder create does.

The builder is the build image ([build] image or [stack] build-image, any
image reference; a relative oci: or docker-archive: path is taken relative to
builder.toml when it exists there) with the directories a build needs, kiln's
lifecycle in /cnb/lifecycle (this kiln binary as /cnb/lifecycle/lifecycle, the
Platform API phases creator, analyzer, detector, restorer, builder, exporter
and rebaser as links to it, and the kiln launcher), one layer per buildpack,
/cnb/order.toml, /cnb/stack.toml, /cnb/run.toml and the [[build.env]] files,
and pack's labels, so that kiln, pack, kpack and Tekton build with it alike
(docs/lifecycle.md). [lifecycle] uri may name a lifecycle archive on disk
(lifecycle-v*.tgz) instead, whose binaries then go in /cnb/lifecycle. kiln
never downloads one. Run images are recorded by registry names only.

Buildpacks are checked as pack checks them: every order entry must be on the
builder, and each buildpack's API, stacks and targets must fit the build
image and lifecycle. REF is any image reference; the same inputs give the
same digest, which is printed on stdout. SOURCE_DATE_EPOCH sets the created
time.`

func newBuilderCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "builder", Short: "Make and inspect builder images"}
	cmd.AddCommand(newBuilderCreateCmd(g), newBuilderInspectCmd(g))
	return cmd
}

func newBuilderCreateCmd(g *globalFlags) *cobra.Command {
	var config, platformFlag string
	var tags []string
	var packCheck func(*cobra.Command) error
	cmd := &cobra.Command{
		Use:   "create REF --config builder.toml",
		Short: "Make a builder image from builder.toml",
		Long:  builderCreateUsage,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := packCheck(cmd); err != nil {
				return err
			}
			return runBuilderCreate(cmd, g, args[0], config, platformFlag, tags)
		},
	}
	cmd.Flags().StringVarP(&config, "config", "c", "builder.toml", "builder.toml describing the builder")
	cmd.Flags().StringVar(&platformFlag, "platform", "", "platform to pick from a build image index, OS/ARCH[/VARIANT] (default linux/<this machine's architecture>)")
	cmd.Flags().StringSliceVar(&tags, "tag", nil, "also write the builder to this reference (repeatable, or comma-separated)")
	cmd.Flags().Bool("publish", false, "accepted for pack's sake: a registry REF is always pushed directly")
	packCheck = addPackFlags(cmd, "builder create")
	return cmd
}

func runBuilderCreate(cmd *cobra.Command, g *globalFlags, out, config, platformFlag string, tags []string) error {
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	outRef, err := parseImageArg("REF", out, refOutput)
	if err != nil {
		return err
	}
	tagRefs, err := parseTags(tags)
	if err != nil {
		return err
	}
	if _, err := os.Stat(config); err != nil {
		if !cmd.Flags().Changed("config") {
			return fmt.Errorf("no builder.toml here: give --config FILE (the builder's configuration, as for pack builder create)")
		}
		return fmt.Errorf("--config %s: no such file or directory: give the builder.toml that describes the builder", config)
	}
	cfg, err := distribution.ReadBuilderConfig(config)
	if err != nil {
		return err
	}
	if err := cfg.CheckPaths(); err != nil {
		return err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "Warning: builder.toml: %s\n", w)
	}
	if cfg.BuildImage() == "" {
		return fmt.Errorf("%s names no build image ([build] image or [stack] build-image)", config)
	}
	buildRef, err := oci.ParseReference(cfg.ResolveImage(cfg.BuildImage()))
	if err != nil {
		return fmt.Errorf("%s: build image: %w", config, err)
	}
	if runs := cfg.RunImages(); len(runs) > 0 && len(distribution.RegistryRunImages(runs)) == 0 {
		fmt.Fprintf(stderr, "Warning: %s: the run image %s has no registry name: kiln builds with this builder, pack cannot "+
			"(give [[run.images]] a registry image, or a registry mirror)\n", config, runs[0].Image)
	}
	w, err := newDistWriter(g, stderr)
	if err != nil {
		return err
	}
	defer w.close()
	readOpts := w.oci
	if platformFlag != "" {
		p, err := v1.ParsePlatform(platformFlag)
		if err != nil {
			return fmt.Errorf("--platform: %w", err)
		}
		readOpts = append(readOpts[:len(readOpts):len(readOpts)], oci.WithPlatform(*p))
	}
	build, err := oci.Read(ctx, buildRef, readOpts...)
	if err != nil {
		return fmt.Errorf("reading build image %s: %w", buildRef, err)
	}
	if cf, err := build.ConfigFile(); err == nil && cf.Architecture != runtime.GOARCH {
		fmt.Fprintf(stderr, "Warning: the build image is linux/%s and this kiln linux/%s: the builder gets the launcher but no "+
			"/cnb/lifecycle phases (pack, kpack and Tekton need them: give [lifecycle] uri, or run a linux/%[1]s kiln)\n",
			cf.Architecture, runtime.GOARCH)
	}
	img, err := distribution.CreateBuilder(ctx, cfg, build, w.options(
		distribution.WithLauncher(launcherBinary), distribution.WithKilnLifecycle(version, kilnLifecycleBinary),
		distribution.WithCreator("kiln", version))...)
	if err != nil {
		return err
	}
	h, err := oci.Write(ctx, outRef, img, w.oci...)
	if err != nil {
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

// kilnExecutable is the kiln binary builders carry as their lifecycle
// (tests point it at bin/kiln: the test binary is not kiln).
var kilnExecutable = os.Executable

// kilnLifecycleBinary is kiln's lifecycle for linux/arch: this very binary
// (static, no libc needed in the builder), or none for another
// architecture.
func kilnLifecycleBinary(arch string) ([]byte, error) {
	if arch != runtime.GOARCH {
		return nil, nil
	}
	exe, err := kilnExecutable()
	if err != nil {
		return nil, fmt.Errorf("finding the kiln binary for the builder's lifecycle: %w", err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		return nil, fmt.Errorf("reading the kiln binary for the builder's lifecycle: %w", err)
	}
	return b, nil
}
