package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// How kiln answers one of pack's flags.
const (
	packSame        = "same"           // the same name, shorthand and meaning
	packAlias       = "alias"          // another kiln flag means it
	packIgnored     = "ignored"        // accepted, with a one-line notice of why it changes nothing
	packUnsupported = "not applicable" // an error saying why and what to do instead
)

// packFlag is one of pack's flags and what kiln does with it. The table is
// docs/pack.md (TestPackFlagsDoc keeps the two equal) and TestPackFlags
// checks every row against the commands.
type packFlag struct {
	cmd       string // "build", "builder create", "buildpack package", "rebase", "inspect"
	name      string // pack's flag, without dashes
	shorthand string // pack's shorthand, "" when none
	bool      bool   // pack's flag takes no value
	verdict   string
	kiln      string // the kiln flag for same and alias
	why       string
}

// packFlags are pack's flags of build, builder create, buildpack package,
// rebase and inspect (pack v0.40), as their cobra definitions spell them.
var packFlags = []packFlag{
	// pack build
	{cmd: "build", name: "buildpack", shorthand: "b", verdict: packSame, kiln: "buildpack", why: "repeatable and comma-separated, as pack's string slice"},
	{cmd: "build", name: "builder", shorthand: "B", verdict: packSame, kiln: "builder", why: "also a builder.toml file; default from project.toml's [io.buildpacks] builder, then kiln config default-builder"},
	{cmd: "build", name: "cache", verdict: packUnsupported, why: "kiln keeps the cache in its store; use --cache-dir DIR (an OCI layout) or --cache-image REF"},
	{cmd: "build", name: "cache-image", verdict: packSame, kiln: "cache-image", why: "no --publish needed: kiln writes registries directly"},
	{cmd: "build", name: "clear-cache", bool: true, verdict: packSame, kiln: "clear-cache"},
	{cmd: "build", name: "creation-time", verdict: packSame, kiln: "creation-time", why: "now or Unix seconds; SOURCE_DATE_EPOCH too"},
	{cmd: "build", name: "default-process", shorthand: "D", verdict: packSame, kiln: "default-process"},
	{cmd: "build", name: "descriptor", shorthand: "d", verdict: packSame, kiln: "descriptor"},
	{cmd: "build", name: "disable-system-buildpacks", bool: true, verdict: packIgnored, why: "kiln builders have no system buildpacks"},
	{cmd: "build", name: "docker-host", verdict: packIgnored, why: "kiln uses no Docker daemon"},
	{cmd: "build", name: "env", shorthand: "e", verdict: packSame, kiln: "env"},
	{cmd: "build", name: "env-file", verdict: packSame, kiln: "env-file"},
	{cmd: "build", name: "exec-env", verdict: packUnsupported, why: "kiln builds with the production execution environment only"},
	{cmd: "build", name: "extension", verdict: packUnsupported, why: "kiln does not run image extensions (Dockerfiles need a daemon or a rootful builder)"},
	{cmd: "build", name: "gid", verdict: packUnsupported, why: "the CNB user is the stack's: make the stack with kiln stack create --gid"},
	{cmd: "build", name: "insecure-registry", verdict: packSame, kiln: "insecure-registry", why: "a global flag; KILN_INSECURE_REGISTRY"},
	{cmd: "build", name: "interactive", bool: true, verdict: packIgnored, why: "kiln has no terminal UI; the output is pack's phase log"},
	{cmd: "build", name: "lifecycle-image", verdict: packIgnored, why: "kiln is its own lifecycle: no lifecycle image is run"},
	{cmd: "build", name: "network", verdict: packSame, kiln: "network", why: "host (default) or none; none by default for buildpacks that would run as root on the machine (kiln as root, CNB user 0)"},
	{cmd: "build", name: "path", shorthand: "p", verdict: packSame, kiln: "path", why: "a directory, .zip or .jar"},
	{cmd: "build", name: "platform", verdict: packUnsupported, why: "kiln builds for the build image's platform: pick it with kiln builder create --platform"},
	{cmd: "build", name: "post-buildpack", verdict: packUnsupported, why: "give the whole group with --buildpack, or edit the builder's order"},
	{cmd: "build", name: "pre-buildpack", verdict: packUnsupported, why: "give the whole group with --buildpack, or edit the builder's order"},
	{cmd: "build", name: "previous-image", verdict: packSame, kiln: "previous-image"},
	{cmd: "build", name: "publish", bool: true, verdict: packIgnored, why: "a registry REF is always pushed directly; an oci: or docker-archive: REF with --publish is an error"},
	{cmd: "build", name: "pull-policy", verdict: packSame, kiln: "pull-policy", why: "a global flag; if-not-present is kiln's if-missing (--pull)"},
	{cmd: "build", name: "buildpack-registry", shorthand: "r", verdict: packUnsupported, why: "kiln reaches no buildpack registry: give buildpacks as directories, files, URLs or images"},
	{cmd: "build", name: "report-output-dir", verdict: packAlias, kiln: "report", why: "--report FILE writes a JSON report, on failure too"},
	{cmd: "build", name: "run-image", verdict: packSame, kiln: "run-image"},
	{cmd: "build", name: "sbom-output-dir", verdict: packSame, kiln: "sbom-output-dir"},
	{cmd: "build", name: "sparse", bool: true, verdict: packIgnored, why: "an oci: layout output shares blobs with the store already"},
	{cmd: "build", name: "tag", shorthand: "t", verdict: packSame, kiln: "tag", why: "every tag is written, any kind of reference"},
	{cmd: "build", name: "trust-builder", bool: true, verdict: packIgnored, why: "kiln runs every buildpack in its sandbox and the other phases itself: there is nothing to trust"},
	{cmd: "build", name: "trust-extra-buildpacks", bool: true, verdict: packIgnored, why: "as --trust-builder"},
	{cmd: "build", name: "uid", verdict: packUnsupported, why: "the CNB user is the stack's: make the stack with kiln stack create --uid"},
	{cmd: "build", name: "userns-host", bool: true, verdict: packIgnored, why: "kiln always runs buildpacks in a user namespace of its own"},
	{cmd: "build", name: "volume", verdict: packSame, kiln: "volume", why: "read-only unless :rw, as pack"},
	{cmd: "build", name: "workspace", verdict: packUnsupported, why: "the app is always at /workspace"},

	// pack builder create
	{cmd: "builder create", name: "append-image-name-suffix", bool: true, verdict: packIgnored, why: "kiln makes one builder per platform: nothing is suffixed"},
	{cmd: "builder create", name: "buildpack-registry", shorthand: "R", verdict: packUnsupported, why: "kiln reaches no buildpack registry"},
	{cmd: "builder create", name: "config", shorthand: "c", verdict: packSame, kiln: "config", why: "default builder.toml"},
	{cmd: "builder create", name: "flatten", verdict: packUnsupported, why: "kiln writes one layer per buildpack, as the distribution spec says"},
	{cmd: "builder create", name: "label", shorthand: "l", verdict: packUnsupported, why: "kiln writes pack's labels only; add others with a registry tool"},
	{cmd: "builder create", name: "publish", bool: true, verdict: packIgnored, why: "a registry REF is always pushed directly"},
	{cmd: "builder create", name: "pull-policy", verdict: packSame, kiln: "pull-policy", why: "a global flag"},
	{cmd: "builder create", name: "tag", verdict: packSame, kiln: "tag", why: "every tag is written"},
	{cmd: "builder create", name: "target", shorthand: "t", verdict: packAlias, kiln: "platform", why: "one platform per builder: --platform OS/ARCH[/VARIANT]"},

	// pack buildpack package
	{cmd: "buildpack package", name: "append-image-name-suffix", bool: true, verdict: packIgnored, why: "kiln makes one buildpackage per platform: nothing is suffixed"},
	{cmd: "buildpack package", name: "config", shorthand: "c", verdict: packSame, kiln: "config", why: "optional: without it, --path (default .) is the buildpack"},
	{cmd: "buildpack package", name: "buildpack-registry", shorthand: "r", verdict: packUnsupported, why: "kiln reaches no buildpack registry"},
	{cmd: "buildpack package", name: "flatten", bool: true, verdict: packUnsupported, why: "kiln writes one layer per buildpack, as the distribution spec says"},
	{cmd: "buildpack package", name: "flatten-exclude", shorthand: "e", verdict: packUnsupported, why: "see --flatten"},
	{cmd: "buildpack package", name: "format", shorthand: "f", verdict: packSame, kiln: "format", why: "file or image; default: file when OUT ends in .cnb"},
	{cmd: "buildpack package", name: "label", shorthand: "l", verdict: packUnsupported, why: "kiln writes pack's labels only"},
	{cmd: "buildpack package", name: "path", shorthand: "p", verdict: packSame, kiln: "path"},
	{cmd: "buildpack package", name: "publish", bool: true, verdict: packIgnored, why: "a registry OUT is always pushed directly"},
	{cmd: "buildpack package", name: "pull-policy", verdict: packSame, kiln: "pull-policy", why: "a global flag"},
	{cmd: "buildpack package", name: "tag", verdict: packSame, kiln: "tag", why: "every tag is written"},
	{cmd: "buildpack package", name: "target", shorthand: "t", verdict: packUnsupported, why: "a buildpackage is made for the platform of its buildpack.toml targets, one at a time"},

	// pack rebase
	{cmd: "rebase", name: "force", bool: true, verdict: packSame, kiln: "force"},
	{cmd: "rebase", name: "insecure-registry", verdict: packSame, kiln: "insecure-registry", why: "a global flag"},
	{cmd: "rebase", name: "previous-image", verdict: packSame, kiln: "previous-image", why: "rebases that image and writes the result to REF (kiln's own form: REF --output OUT)"},
	{cmd: "rebase", name: "publish", bool: true, verdict: packIgnored, why: "a registry REF is always rebased in the registry"},
	{cmd: "rebase", name: "pull-policy", verdict: packSame, kiln: "pull-policy", why: "a global flag"},
	{cmd: "rebase", name: "report-output-dir", verdict: packUnsupported, why: "kiln rebase prints the new digest on stdout"},
	{cmd: "rebase", name: "run-image", verdict: packSame, kiln: "run-image"},

	// pack inspect
	{cmd: "inspect", name: "bom", bool: true, verdict: packUnsupported, why: "the legacy BOM label is not written; use kiln sbom download"},
	{cmd: "inspect", name: "output", shorthand: "o", verdict: packSame, kiln: "output", why: "human-readable, json, yaml or toml"},
}

// addPackFlags adds the ignored and not-applicable pack flags of command
// use to cmd, hidden, and returns a check to run before the command: a
// notice for ignored ones, an error for the others.
func addPackFlags(cmd *cobra.Command, use string) func(cmd *cobra.Command) error {
	var rows []packFlag
	for _, p := range packFlags {
		if p.cmd != use || p.verdict == packSame || p.verdict == packAlias {
			continue
		}
		rows = append(rows, p)
		if cmd.Flags().Lookup(p.name) != nil {
			continue // kiln declares it itself, visibly
		}
		if p.bool {
			cmd.Flags().BoolP(p.name, p.shorthand, false, "pack's --"+p.name+": "+p.why)
		} else {
			cmd.Flags().StringArrayP(p.name, p.shorthand, nil, "pack's --"+p.name+": "+p.why)
		}
		_ = cmd.Flags().MarkHidden(p.name)
	}
	return func(cmd *cobra.Command) error {
		for _, p := range rows {
			f := cmd.Flags().Lookup(p.name)
			if f == nil || !f.Changed {
				continue
			}
			if p.verdict == packUnsupported {
				return fmt.Errorf("--%s (a pack flag) is not applicable to kiln %s: %s", p.name, use, p.why)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "note: --%s is accepted and ignored: %s\n", p.name, p.why)
		}
		return nil
	}
}

// packFlagsMarkdown is the docs/pack.md table of pack's flags.
func packFlagsMarkdown() string {
	var b strings.Builder
	cmd := ""
	for _, p := range packFlags {
		if p.cmd != cmd {
			cmd = p.cmd
			fmt.Fprintf(&b, "\n### pack %s\n\n| pack flag | kiln | why |\n|---|---|---|\n", cmd)
		}
		flag := "`--" + p.name + "`"
		if p.shorthand != "" {
			flag = "`-" + p.shorthand + "`, " + flag
		}
		k := p.verdict
		if p.verdict == packSame || p.verdict == packAlias {
			k += ": `--" + p.kiln + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", flag, k, p.why)
	}
	return b.String()
}

// lookupFlag finds name among cmd's flags and those it inherits.
func lookupFlag(cmd *cobra.Command, name string) *pflag.Flag {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	return cmd.InheritedFlags().Lookup(name)
}
