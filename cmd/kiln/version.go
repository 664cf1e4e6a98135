package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// version is kiln's version; release builds set it with
// -ldflags '-X main.version=…'.
var version = "0.1.0-dev"

func init() { subcommandFactories = append(subcommandFactories, newVersionCmd) }

func newVersionCmd(*globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kiln's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "kiln %s\n", version)
			return err
		},
	}
}
