package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle/appimage"
)

func init() { subcommandFactories = append(subcommandFactories, newInspectCmd) }

func newInspectCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	var format string
	var packCheck func(*cobra.Command) error
	cmd := &cobra.Command{
		Use:   "inspect REF [-o human-readable|json|yaml|toml]",
		Short: "Show what an app image was built from: stack, run image, buildpacks, processes, layers",
		Long: `Show the stack and run image (with mirrors) an app image was built on, its
buildpacks, its processes (the default one marked) and its layers, split into
the run image's and those the buildpacks, the app and the lifecycle added.
Only the manifest and config are read: a registry image's layers are not
downloaded. -o json (or --json), yaml and toml print the same as one document
with stable field names.`,
		Example: `  kiln inspect oci:./out:app
  kiln inspect registry.example/app:1 --json | jq -r .run_image.reference`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := packCheck(cmd); err != nil {
				return err
			}
			if asJSON {
				format = "json"
			}
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			ref, err := parseImageArg("REF", args[0], refInput)
			if err != nil {
				return err
			}
			img, err := g.readLazily(cmd.Context(), cmd.ErrOrStderr(), ref)
			if err != nil {
				return err
			}
			info, err := appimage.Inspect(img)
			if err != nil {
				return err
			}
			info.Image = ref.String()
			if format != "human-readable" {
				return printStructured(cmd.OutOrStdout(), format, info)
			}
			return printImageInfo(cmd.OutOrStdout(), info)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (as -o json)")
	cmd.Flags().StringVarP(&format, "output", "o", "human-readable", "output format: human-readable, json, yaml or toml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	packCheck = addPackFlags(cmd, "inspect")
	return cmd
}

// printImageInfo prints info in the shape of pack's inspect.
func printImageInfo(w io.Writer, info *appimage.ImageInfo) error {
	p := &infoPrinter{w: w}
	p.f("Inspecting image: %s\n", info.Image)
	p.f("Digest: %s\n", info.Digest)
	p.f("Platform: %s\n", inspectPlatform(info))
	if info.PlatformAPI != "" {
		p.f("Platform API: %s\n", info.PlatformAPI)
	}
	p.f("\nStack: %s\n", inspectOrNone(info.Stack))
	if info.Distro != nil {
		p.f("Distro: %s %s\n", info.Distro.Name, info.Distro.Version)
	}
	p.f("\nBase Image:\n")
	if info.RunImage.Reference != "" {
		p.f("  Reference: %s\n", info.RunImage.Reference)
	}
	p.f("  Top Layer: %s\n", inspectOrNone(info.RunImage.TopLayer))
	p.f("\nRun Images:\n")
	if info.RunImage.Image == "" {
		p.f("  (none)\n")
	} else {
		p.f("  %s\n", info.RunImage.Image)
		for _, m := range info.RunImage.Mirrors {
			p.f("  %s (mirror)\n", m)
		}
	}
	p.f("\nRebasable: %t\n", info.Rebasable)
	p.modules("Buildpacks", info.Buildpacks)
	if len(info.Extensions) > 0 {
		p.modules("Extensions", info.Extensions)
	}
	p.processes(info.Processes)
	p.f("\nLayers:\n")
	p.layers(fmt.Sprintf("Run image: %d layer(s), %s", len(info.BaseLayers), humanBytes(info.BaseSize)), info.BaseLayers)
	p.layers(fmt.Sprintf("Buildpacks, app and launcher: %d layer(s), %s", len(info.AppLayers), humanBytes(info.AppSize)), info.AppLayers)
	return p.err
}

// infoPrinter keeps the first write error.
type infoPrinter struct {
	w   io.Writer
	err error
}

func (p *infoPrinter) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *infoPrinter) table(indent, header string, rows [][]string) {
	if p.err != nil {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s%s\n", indent, header)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s%s\n", indent, strings.Join(r, "\t"))
	}
	p.err = tw.Flush()
}

func (p *infoPrinter) modules(title string, mods []appimage.ModuleInfo) {
	p.f("\n%s:\n", title)
	if len(mods) == 0 {
		p.f("  (none)\n")
		return
	}
	var rows [][]string
	for _, m := range mods {
		rows = append(rows, []string{m.ID, m.Version, inspectOrDash(m.Homepage)})
	}
	p.table("  ", "ID\tVERSION\tHOMEPAGE", rows)
}

func (p *infoPrinter) processes(procs []appimage.ProcessInfo) {
	p.f("\nProcesses:\n")
	if len(procs) == 0 {
		p.f("  (none)\n")
		return
	}
	var rows [][]string
	for _, pr := range procs {
		typ := pr.Type
		if pr.Default {
			typ += " (default)"
		}
		rows = append(rows, []string{typ, strings.Join(pr.Command, " "), strings.Join(pr.Args, " "), inspectOrDash(pr.WorkingDir)})
	}
	p.table("  ", "TYPE\tCOMMAND\tARGS\tWORK DIR", rows)
}

func (p *infoPrinter) layers(title string, layers []appimage.LayerInfo) {
	p.f("  %s\n", title)
	if len(layers) == 0 {
		return
	}
	var rows [][]string
	for _, l := range layers {
		desc := l.Role
		if desc == "" {
			desc = l.CreatedBy
		}
		rows = append(rows, []string{shortDigest(l.DiffID), humanBytes(l.Size), desc})
	}
	p.table("    ", "DIFF ID\tSIZE\tLAYER", rows)
}

func inspectPlatform(info *appimage.ImageInfo) string {
	s := info.OS + "/" + info.Architecture
	if info.Variant != "" {
		s += "/" + info.Variant
	}
	return s
}

func inspectOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func inspectOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
