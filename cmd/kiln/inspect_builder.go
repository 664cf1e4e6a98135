package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle/distribution"
)

// builderInfo is what kiln builder inspect shows, with stable JSON names.
type builderInfo struct {
	Image       string                         `json:"image"`
	Description string                         `json:"description,omitempty"`
	CreatedBy   distribution.CreatorMetadata   `json:"created_by"`
	Stack       string                         `json:"stack,omitempty"`
	Platform    string                         `json:"platform"`
	User        string                         `json:"user"`
	Lifecycle   distribution.LifecycleMetadata `json:"lifecycle"`
	RunImages   []distribution.RunImage        `json:"run_images"`
	Buildpacks  []distribution.ModuleInfo      `json:"buildpacks"`
	Extensions  []distribution.ModuleInfo      `json:"extensions,omitempty"`
	Order       distribution.Order             `json:"detection_order"`
}

func newBuilderInspectCmd(g *globalFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [BUILDER] [-o human-readable|json|yaml|toml]",
		Short: "Show a builder image's buildpacks, detection order, lifecycle and run images",
		Long: `Show what a builder image holds, as pack builder inspect does: its buildpacks,
the detection order, the lifecycle (kiln's launcher, or the lifecycle archive's
version) and its APIs, the run images with their mirrors, the stack and the
CNB user. BUILDER defaults to the default builder (kiln config default-builder).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutputFormat(format); err != nil {
				return err
			}
			what, builder := "BUILDER", g.defaultBuilder
			if len(args) == 1 {
				builder = args[0]
			} else if builder == "" {
				return fmt.Errorf("no builder: give BUILDER, or set one with kiln config default-builder BUILDER")
			} else {
				what = "the default builder"
			}
			info, err := inspectBuilder(cmd.Context(), g, cmd.ErrOrStderr(), what, builder)
			if err != nil {
				return err
			}
			if format != "human-readable" {
				return printStructured(cmd.OutOrStdout(), format, info)
			}
			return printBuilderInfo(cmd.OutOrStdout(), info)
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "human-readable", "output format: human-readable, json, yaml or toml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(outputFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func inspectBuilder(ctx context.Context, g *globalFlags, stderr io.Writer, what, builder string) (*builderInfo, error) {
	if strings.HasSuffix(builder, ".toml") {
		return nil, fmt.Errorf("%s %s is a builder.toml: make the builder image first (kiln builder create REF --config %s), then inspect REF", what, builder, builder)
	}
	ref, err := parseImageArg(what, builder, refInput)
	if err != nil {
		return nil, err
	}
	img, err := g.readLazily(ctx, stderr, ref)
	if err != nil {
		return nil, err
	}
	bi, err := distribution.ReadBuilderImage(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("reading builder %s: %w", ref, err)
	}
	p := bi.Platform.OS + "/" + bi.Platform.Architecture
	if bi.Platform.Variant != "" {
		p += "/" + bi.Platform.Variant
	}
	return &builderInfo{
		Image: ref.String(), Description: bi.Metadata.Description, CreatedBy: bi.Metadata.CreatedBy,
		Stack: bi.StackID, Platform: p, User: fmt.Sprintf("%d:%d", bi.UID, bi.GID), Lifecycle: bi.Metadata.Lifecycle,
		RunImages: bi.RunImages, Buildpacks: bi.Metadata.Buildpacks, Extensions: bi.Metadata.Extensions, Order: bi.Order,
	}, nil
}

// printBuilderInfo prints info in the shape of pack builder inspect.
func printBuilderInfo(w io.Writer, info *builderInfo) error {
	p := &infoPrinter{w: w}
	p.f("Inspecting builder: %s\n\n", info.Image)
	p.f("Description: %s\n\n", inspectOrNone(info.Description))
	p.f("Created By:\n  Name: %s\n  Version: %s\n\n", inspectOrNone(info.CreatedBy.Name), inspectOrNone(info.CreatedBy.Version))
	p.f("Stack:\n  ID: %s\n\nPlatform: %s\nCNB user: %s\n\n", inspectOrNone(info.Stack), info.Platform, info.User)
	p.f("Lifecycle:\n  Version: %s\n", inspectOrNone(info.Lifecycle.Version))
	p.f("  Buildpack APIs: %s\n  Platform APIs: %s\n\n", strings.Join(info.Lifecycle.APIs.Buildpack.Supported, ", "),
		strings.Join(info.Lifecycle.APIs.Platform.Supported, ", "))
	p.f("Run Images:\n")
	if len(info.RunImages) == 0 {
		p.f("  (none)\n")
	}
	for _, r := range info.RunImages {
		p.f("  %s\n", r.Image)
		for _, m := range r.Mirrors {
			p.f("  %s (mirror)\n", m)
		}
	}
	p.f("\nBuildpacks:\n")
	if len(info.Buildpacks) == 0 {
		p.f("  (none)\n")
	} else {
		var rows [][]string
		for _, b := range info.Buildpacks {
			rows = append(rows, []string{b.ID, b.Version, inspectOrDash(b.Homepage)})
		}
		p.table("  ", "ID\tVERSION\tHOMEPAGE", rows)
	}
	p.f("\nDetection Order:\n")
	if len(info.Order) == 0 {
		p.f("  (none)\n")
	}
	for i, o := range info.Order {
		p.f("  Group #%d:\n", i+1)
		for _, e := range o.Group {
			opt := ""
			if e.Optional {
				opt = " (optional)"
			}
			p.f("    %s@%s%s\n", e.ID, e.Version, opt)
		}
	}
	return p.err
}
