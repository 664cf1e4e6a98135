package main

import "github.com/spf13/cobra"

// flagValues are the values shells complete for flags that take one of a
// few words. Subcommands' flags are registered by name wherever they exist.
var flagValues = map[string][]string{
	"pull":        {"always\tcheck the registry every time", "if-missing\tuse the store when it has the image", "never\tnever reach a registry"},
	"pull-policy": {"always", "if-not-present", "never"},
	"network":     {"host\tthe host's network", "none\tloopback only"},
	"format":      {"file\ta .cnb file", "image\tan image"},
	"output":      nil, // a path or an image for most commands; formats for inspect (set there)
	"sandbox":     {"auto\tthe strongest the machine allows", "namespaces\tuser, mount, pid and network namespaces", "none\tno isolation"},
}

// registerCompletions registers value completion for the flags of cmd and
// its subcommands that take one of a few words.
func registerCompletions(cmd *cobra.Command) {
	for name, vals := range flagValues {
		if vals == nil {
			continue
		}
		if cmd.Flags().Lookup(name) != nil || cmd.PersistentFlags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	for _, c := range cmd.Commands() {
		registerCompletions(c)
	}
}
