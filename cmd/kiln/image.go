package main

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kilnbuild/kiln/oci"
	"github.com/spf13/cobra"
)

func init() { subcommandFactories = append(subcommandFactories, newImageCmd) }

// newImageCmd is `kiln image`, the commands that move images around.
func newImageCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Move images between registries, OCI layouts and docker archives",
	}
	cmd.AddCommand(newImageCopyCmd(g))
	return cmd
}

func newImageCopyCmd(g *globalFlags) *cobra.Command {
	var platform string
	cmd := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy an image, keeping its digest where the format allows",
		Long: `Copy an image between any two of:
  oci:DIR[:TAG]                   an OCI image layout (TAG defaults to latest)
  docker-archive:FILE[:NAME:TAG]  a tarball for docker load and podman load
  NAME[:TAG|@DIGEST]              a registry

Registry images are read through the image store (--store, --pull). Between
layouts and registries the manifest digest is kept; a docker archive holds no
manifest, so a copy into or out of one gets a new digest, and kiln says so.
The digest of the copy is printed on stdout.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := parseImageArg("SRC", args[0], refInput)
			if err != nil {
				return err
			}
			dst, err := parseImageArg("DST", args[1], refOutput)
			if err != nil {
				return err
			}
			opts, err := g.ociOptions(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if platform != "" {
				p, err := v1.ParsePlatform(platform)
				if err != nil {
					return fmt.Errorf("--platform: %w", err)
				}
				opts = append(opts, oci.WithPlatform(*p))
			}
			res, err := oci.Copy(cmd.Context(), src, dst, opts...)
			if err != nil {
				return err
			}
			if res.DigestChanged {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: the digest changed from %s to %s: %s\n", res.Source, res.Digest, res.Reason)
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Digest)
			return nil
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "platform to pick from an index, OS/ARCH[/VARIANT] (default linux/<this machine's architecture>)")
	return cmd
}
