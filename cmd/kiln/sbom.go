package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle/appimage"
)

func init() { subcommandFactories = append(subcommandFactories, newSBOMCmd) }

func newSBOMCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "sbom", Short: "Work with the SBOMs of app images"}
	var dir string
	var remote bool
	download := &cobra.Command{
		Use:   "download IMAGE [-o DIR]",
		Short: "Copy an app image's SBOM files into DIR (default .), as pack sbom download does",
		Long: `Copy the files of an app image's SBOM layer into DIR as DIR/layers/sbom/launch/
<buildpack>/...: the SBOMs the buildpacks wrote (CycloneDX, SPDX, Syft). Only
the SBOM layer is read: a registry image's other layers are not downloaded.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseImageArg("IMAGE", args[0], refInput)
			if err != nil {
				return err
			}
			img, err := g.readLazily(cmd.Context(), cmd.ErrOrStderr(), ref)
			if err != nil {
				return err
			}
			if err := appimage.ExtractSBOM(cmd.Context(), img, dir); err != nil {
				if errors.Is(err, appimage.ErrNoSBOM) {
					return fmt.Errorf("%s: %w: no buildpack of its build wrote an SBOM (a buildpack writes <layer>.sbom.<ext> or launch.sbom.<ext>)", ref, err)
				}
				return fmt.Errorf("%s: %w", ref, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote the SBOM files of %s to %s\n", ref, dir)
			return nil
		},
	}
	download.Flags().StringVarP(&dir, "output-dir", "o", ".", "the directory to write the SBOM files into")
	download.Flags().BoolVar(&remote, "remote", false, "accepted for pack's sake: a registry image is always read in the registry, its SBOM layer only")
	cmd.AddCommand(download)
	return cmd
}
