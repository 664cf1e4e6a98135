package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// version is kiln's version; release builds set it with
// -ldflags '-X main.version=…'.
var version = "0.1.0-dev"

func init() { subcommandFactories = append(subcommandFactories, newVersionCmd) }

func newVersionCmd(*globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kiln's version and the CNB API versions it implements",
		Long: `Print kiln's version and the Buildpack and Platform API versions its
lifecycle implements: what builders made by kiln declare, what the
/cnb/lifecycle phases accept in CNB_PLATFORM_API.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "kiln %s\nBuildpack API: %s\nPlatform API: %s\n",
				version, api.Buildpack, api.Platform)
			return err
		},
	}
}
