package main

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle/appimage"
	"github.com/kilnbuild/kiln/oci"
)

func init() { subcommandFactories = append(subcommandFactories, newRebaseCmd) }

// rebaseFlags are `kiln rebase`'s flags.
type rebaseFlags struct {
	runImage string
	output   string
	previous string
	force    bool
}

func newRebaseCmd(g *globalFlags) *cobra.Command {
	f := &rebaseFlags{}
	cmd := &cobra.Command{
		Use:   "rebase REF [--run-image RUN] [--output OUT]",
		Short: "Put an app image on a newer run image without rebuilding it",
		Long: `Replace the run image layers under an app image's buildpack and app layers
with those of RUN, by rewriting the manifest and config only: no app layer is
downloaded, re-tarred or uploaded. REF and OUT are oci:DIR[:TAG],
docker-archive:FILE[:NAME:TAG] or registry references; OUT defaults to REF.

Without --run-image, the run image the app image records is used (with
--pull always, its newest version). RUN must be a run image name the app image
records, fit its os/architecture and distribution, and the app image must be
rebasable; --force turns these checks into warnings.`,
		Example: `  kiln rebase oci:./out:app --pull always
  kiln rebase registry.example/app:1 --run-image registry.example/run:1
  kiln rebase oci:./out:app --run-image oci:./stack:run2 --force --output oci:./out:app2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.previous != "" {
				// pack's form: rebase --previous-image SRC into <image-name>.
				if f.output != "" {
					return fmt.Errorf("give --previous-image (pack's form: the image to rebase, written to %s) or --output, not both", args[0])
				}
				f.output = args[0]
				return runRebase(cmd, g, f.previous, f)
			}
			return runRebase(cmd, g, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.runImage, "run-image", "", "the new run image (default: the one the app image records)")
	fl.StringVarP(&f.output, "output", "o", "", "where to write the rebased image (default: REF, in place)")
	fl.BoolVar(&f.force, "force", false, "rebase even when the checks fail (rebasable, target, recorded run image name)")
	fl.StringVar(&f.previous, "previous-image", "", "pack's form: rebase this image and write the result to REF")
	fl.Bool("publish", false, "accepted for pack's sake: a registry REF is always rebased in the registry")
	packCheck := addPackFlags(cmd, "rebase")
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := packCheck(cmd); err != nil {
			return err
		}
		return run(cmd, args)
	}
	return cmd
}

// runRebase is `kiln rebase`: read the app image lazily, rebase it with
// lifecycle.Rebaser, write it.
func runRebase(cmd *cobra.Command, g *globalFlags, appArg string, f *rebaseFlags) error {
	ctx, out, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	appRef, err := parseImageArg("REF", appArg, refInput)
	if err != nil {
		return err
	}
	outRef := appRef
	if f.output != "" {
		if outRef, err = parseImageArg("--output", f.output, refOutput); err != nil {
			return err
		}
	} else if _, byDigest := appRef.Name.(name.Digest); byDigest && appRef.Kind == oci.KindRegistry {
		return fmt.Errorf("%s names a digest, which the rebased image cannot have: give --output", appRef)
	}
	created, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	opts, err := g.ociOptions(stderr)
	if err != nil {
		return err
	}
	policy, err := oci.ParsePullPolicy(g.pull)
	if err != nil {
		return err
	}
	app, err := oci.Read(ctx, appRef, lazyOptions(appRef, policy, opts)...)
	if err != nil {
		return err
	}
	registry := ""
	if appRef.Kind == oci.KindRegistry {
		registry = appRef.Name.Context().RegistryStr()
	}
	if f.runImage != "" {
		if f.runImage, err = checkImageArg("--run-image", f.runImage); err != nil {
			return err
		}
	}
	r := &appimage.Rebaser{
		App:      app,
		RunImage: f.runImage,
		Registry: registry,
		ReadImage: func(ctx context.Context, name string) (v1.Image, error) {
			ref, err := oci.ParseReference(name)
			if err != nil {
				return nil, err
			}
			ropts := opts
			if outRef.Kind == oci.KindRegistry {
				// Pushed to a registry, remote run image layers are
				// mounted from their repository instead of passing
				// through the store.
				ropts = lazyOptions(ref, policy, opts)
			}
			return oci.Read(ctx, ref, ropts...)
		},
		Force:   f.force,
		Created: created,
		Logger:  g.logger(stderr),
	}
	img, report, err := r.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Rebasing %s on run image %s\n", appRef, report.RunImage)
	for _, w := range report.Warnings {
		fmt.Fprintf(stderr, "Warning: %s (--force)\n", w)
	}
	digest, err := oci.Write(ctx, outRef, img, opts...)
	if err != nil {
		return &appimage.RebaseError{Err: fmt.Errorf("writing %s: %w", outRef, err)}
	}
	fmt.Fprintf(out, "*** Images (%s):\n      %s\n", imageID(digest), outRef)
	fmt.Fprintf(out, "Rebased %s\n", outRef)
	return nil
}
