package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func init() { subcommandFactories = append(subcommandFactories, newConfigCmd) }

const configUsage = `Show and change kiln's settings, as pack config does.

Each setting comes from its flag when given, else its KILN_* environment
variable (lists comma-separated), else the configuration file
($KILN_CONFIG, else $XDG_CONFIG_HOME/kiln/config.toml, else
~/.config/kiln/config.toml), else its default. kiln config list shows each
value and where it came from.`

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and change kiln's settings (default builder, pull policy, registries, CAs)",
		Long:  configUsage,
		Example: `  kiln config list
  kiln config default-builder oci:./builder
  kiln config pull-policy never
  kiln config add insecure-registries registry.internal:5000
  kiln config add registry-mirrors index.docker.io=mirror.internal:5000
  kiln config add ca-certs /etc/ssl/internal-ca.pem`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "Show every setting, its value and where it came from (flag, KILN_* variable, file, default)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "SETTING\tVALUE\tFROM\tFLAG\tENV")
				for _, s := range settings {
					r := g.settings[s.key]
					flag := "-"
					if s.flag != "" {
						flag = "--" + s.flag
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.key, orDash(strings.Join(r.values, ",")), r.source, flag, s.env)
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "path",
			Short: "Print the configuration file's path",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), g.configFile.path)
				return err
			},
		},
		configEditCmd(g, "set KEY VALUE", "Set a setting in the configuration file", 2, func(cf *configFile, s setting, args []string) error {
			if s.list {
				cf.values[s.key] = splitList(args[1])
			} else {
				cf.values[s.key] = []string{args[1]}
			}
			return nil
		}),
		configEditCmd(g, "unset KEY", "Remove a setting from the configuration file", 1, func(cf *configFile, s setting, _ []string) error {
			delete(cf.values, s.key)
			return nil
		}),
		configEditCmd(g, "add KEY VALUE", "Add a value to a list setting in the configuration file", 2, func(cf *configFile, s setting, args []string) error {
			if !s.list {
				return fmt.Errorf("%s takes one value: use kiln config set %s VALUE", s.key, s.key)
			}
			if !slices.Contains(cf.values[s.key], args[1]) {
				cf.values[s.key] = append(cf.values[s.key], args[1])
			}
			return nil
		}),
		configEditCmd(g, "remove KEY VALUE", "Remove a value from a list setting in the configuration file", 2, func(cf *configFile, s setting, args []string) error {
			i := slices.Index(cf.values[s.key], args[1])
			if i < 0 {
				return fmt.Errorf("%s in %s has no %q (it has: %s)", s.key, cf.path, args[1], orDash(strings.Join(cf.values[s.key], ", ")))
			}
			cf.values[s.key] = slices.Delete(cf.values[s.key], i, i+1)
			if len(cf.values[s.key]) == 0 {
				delete(cf.values, s.key)
			}
			return nil
		}),
		configShortcutCmd(g, "default-builder", "Show or set the builder kiln build uses without --builder"),
		configShortcutCmd(g, "pull-policy", "Show or set the pull policy: always, if-missing (if-not-present) or never"),
	)
	return cmd
}

// configEditCmd is a subcommand that changes one key of the file.
func configEditCmd(g *globalFlags, use, short string, nargs int, edit func(*configFile, setting, []string) error) *cobra.Command {
	return &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              cobra.ExactArgs(nargs),
		ValidArgsFunction: completeSettingKeys,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ok := settingByKey(args[0])
			if !ok {
				return fmt.Errorf("kiln config: unknown setting %q (known: %s)", args[0], settingKeys())
			}
			if len(args) > 1 && s.check != nil {
				vals := []string{args[1]}
				if s.list && strings.HasPrefix(use, "set") {
					vals = splitList(args[1])
				}
				for _, v := range vals {
					if err := s.check(v); err != nil {
						return fmt.Errorf("kiln config %s: %w", s.key, err)
					}
				}
			}
			if err := edit(g.configFile, s, args); err != nil {
				return err
			}
			if err := g.configFile.write(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", g.configFile.path)
			return nil
		},
	}
}

// configShortcutCmd is pack's `pack config default-builder [VALUE] [--unset]`.
func configShortcutCmd(g *globalFlags, key, short string) *cobra.Command {
	var unset bool
	cmd := &cobra.Command{
		Use:   key + " [VALUE]",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _ := settingByKey(key)
			switch {
			case unset:
				delete(g.configFile.values, key)
			case len(args) == 0:
				r := g.settings[key]
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s (from %s)\n", orDash(r.value()), r.source)
				return err
			default:
				if s.check != nil {
					if err := s.check(args[0]); err != nil {
						return fmt.Errorf("kiln config %s: %w", key, err)
					}
				}
				g.configFile.values[key] = []string{args[0]}
			}
			if err := g.configFile.write(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", g.configFile.path)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&unset, "unset", "u", false, "remove the setting from the configuration file")
	return cmd
}

func completeSettingKeys(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key + "\t" + s.usage
	}
	return keys, cobra.ShellCompDirectiveNoFileComp
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
