package main

import (
	"github.com/spf13/cobra"
)

// globalFlags are the flags every subcommand shares.
type globalFlags struct {
	store    string   // --store: the content-addressed image store
	pull     string   // --pull: always | if-missing | never
	insecure []string // --insecure-registry HOST (repeatable)
	verbose  bool     // -v: debug output
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "kiln",
		Short:         "Build container images with Cloud Native Buildpacks, without a daemon or root",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&g.store, "store", "", "image store directory (default $XDG_CACHE_HOME/kiln)")
	f.StringVar(&g.pull, "pull", "if-missing", "pull policy for images: always, if-missing or never")
	f.StringArrayVar(&g.insecure, "insecure-registry", nil, "reach this registry host over plain HTTP (repeatable)")
	f.BoolVarP(&g.verbose, "verbose", "v", false, "verbose output")

	root.AddCommand(subcommands(g)...)
	return root
}

// subcommandFactories is filled by each subcommand file's init so that the
// files stay independent of one another.
var subcommandFactories []func(*globalFlags) *cobra.Command

func subcommands(g *globalFlags) []*cobra.Command {
	cmds := make([]*cobra.Command, 0, len(subcommandFactories))
	for _, f := range subcommandFactories {
		cmds = append(cmds, f(g))
	}
	return cmds
}
