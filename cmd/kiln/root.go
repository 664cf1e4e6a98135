package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/oci"
)

// globalFlags are the flags every subcommand shares, resolved with their
// KILN_* environment variables and the configuration file (settings.go)
// before a command runs.
type globalFlags struct {
	store          string            // --store: the content-addressed image store
	pull           string            // --pull: always | if-missing | never
	pullPolicy     string            // --pull-policy: pack's spelling of --pull
	insecure       []string          // --insecure-registry HOST (repeatable)
	mirrors        map[string]string // --registry-mirror REGISTRY=MIRROR
	mirrorFlags    []string
	caCerts        []string // --ca-cert FILE
	skipVerify     []string // --tls-skip-verify HOST
	defaultBuilder string   // default-builder / KILN_BUILDER
	verbose        bool     // -v: debug output
	quiet          bool     // -q: less output
	timestamps     bool     // --timestamps
	noColor        bool     // --no-color: accepted, kiln prints no color

	storeMaxSize, storeMaxAge string // --store-max-size, --store-max-age: kept after each build

	settings   map[string]resolved
	configFile *configFile

	opened *oci.Store // the store, once a command opened it (closed when it ends)
}

const exitCodesHelp = `
Exit codes:
  0   success
  1   an error before or around the build (bad flag, missing file, registry error)
  12  the buildpack API of a buildpack is not supported
  20  no buildpack group passed detection; 21 a buildpack's detect failed
  51  a buildpack's build failed
  62  exporting or writing the image failed
  72  rebasing failed
  126, 127  kiln run: the command cannot be run / is not found; 128+N: killed by signal N
  other     kiln run: the exit code of the process run

Settings come from a flag, else a KILN_* variable (KILN_STORE, KILN_PULL,
KILN_INSECURE_REGISTRY, KILN_REGISTRY_MIRROR, KILN_CA_CERT, KILN_TLS_SKIP_VERIFY,
KILN_BUILDER, KILN_STORE_MAX_SIZE, KILN_STORE_MAX_AGE, KILN_VERBOSE, KILN_QUIET,
KILN_TIMESTAMPS; lists comma-separated),
else the configuration file (kiln config path); kiln config list shows which.
`

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "kiln",
		Short:         "Build container images with Cloud Native Buildpacks, without a daemon or root",
		Long:          "Build container images with Cloud Native Buildpacks, without a daemon or root.\n" + exitCodesHelp,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.prepare(cmd)
		},
	}
	root.SetVersionTemplate("kiln {{.Version}}\n")
	f := root.PersistentFlags()
	f.StringVar(&g.store, "store", "", "image store directory (default $XDG_CACHE_HOME/kiln; env KILN_STORE)")
	f.StringVar(&g.pull, "pull", "if-missing", "pull policy for images: always, if-missing or never (env KILN_PULL)")
	f.StringVar(&g.pullPolicy, "pull-policy", "", "pack's name for --pull: always, if-not-present (= if-missing) or never")
	f.StringArrayVar(&g.insecure, "insecure-registry", nil, "reach this registry HOST[:PORT] over plain HTTP (repeatable; env KILN_INSECURE_REGISTRY)")
	f.StringArrayVar(&g.mirrorFlags, "registry-mirror", nil, "REGISTRY=MIRROR: pull REGISTRY's images from MIRROR (repeatable; env KILN_REGISTRY_MIRROR)")
	f.StringArrayVar(&g.caCerts, "ca-cert", nil, "PEM file of a certificate authority trusted for registries (repeatable; env KILN_CA_CERT)")
	f.StringArrayVar(&g.skipVerify, "tls-skip-verify", nil, "do not verify the TLS certificate of this registry HOST[:PORT] (unsafe; repeatable; env KILN_TLS_SKIP_VERIFY)")
	f.BoolVarP(&g.verbose, "verbose", "v", false, "verbose output (env KILN_VERBOSE)")
	f.BoolVarP(&g.quiet, "quiet", "q", false, "show less output: no progress, no buildpack output (env KILN_QUIET)")
	f.BoolVar(&g.timestamps, "timestamps", false, "prefix each output line with the time (env KILN_TIMESTAMPS)")
	f.BoolVar(&g.noColor, "no-color", false, "accepted for pack's sake: kiln prints no color")
	f.StringVar(&g.storeMaxSize, "store-max-size", "", "after each build, prune the store to SIZE, e.g. 20G (see kiln store prune; env KILN_STORE_MAX_SIZE)")
	f.StringVar(&g.storeMaxAge, "store-max-age", "", "after each build, prune from the store what was unused for DURATION, e.g. 168h (env KILN_STORE_MAX_AGE)")
	root.AddCommand(subcommands(g)...)
	registerCompletions(root)
	return root
}

// prepare resolves the settings and applies the output flags.
func (g *globalFlags) prepare(cmd *cobra.Command) error {
	fl := cmd.Flags()
	if pp := fl.Lookup("pull-policy"); pp != nil && pp.Changed {
		policy := g.pullPolicy
		if pl := fl.Lookup("pull"); pl.Changed && pl.Value.String() != policy &&
			!(policy == "if-not-present" && pl.Value.String() == "if-missing") {
			return fmt.Errorf("--pull %s and --pull-policy %s disagree: give one of them", pl.Value.String(), policy)
		}
		if err := fl.Set("pull", policy); err != nil {
			return err
		}
	}
	if err := g.applySettings(cmd); err != nil {
		return err
	}
	if g.timestamps {
		cmd.Root().SetOut(newTimestampWriter(cmd.OutOrStdout()))
		cmd.Root().SetErr(newTimestampWriter(cmd.ErrOrStderr()))
	}
	return nil
}

// subcommandFactories is filled by each subcommand file's init so that the
// files stay independent of one another.
var subcommandFactories []func(*globalFlags) *cobra.Command

func subcommands(g *globalFlags) []*cobra.Command {
	cmds := make([]*cobra.Command, 0, len(subcommandFactories))
	for _, f := range subcommandFactories {
		c := f(g)
		closeStoreAfter(g, c)
		cmds = append(cmds, c)
	}
	return cmds
}

// closeStoreAfter makes every command below c close the store it opened
// when it ends, whatever the outcome: its lease ends, its work directories
// are retired.
func closeStoreAfter(g *globalFlags, c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			defer g.closeStore()
			return run(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		closeStoreAfter(g, sub)
	}
}
