package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/oci"
)

func init() { subcommandFactories = append(subcommandFactories, newStoreCmd) }

// Where kiln build keeps its default caches in the store (see buildCache):
// an image tagged cacheTagPrefix+<output reference> in the store's layout,
// and its layers unpacked under storeTrees/<key>.
const (
	cacheTagPrefix = "kiln.cache/"
	storeTrees     = "lifecycle/trees"
)

// storeCaches are the store's directories of disposable caches, for
// oci.PruneOptions.Caches.
func storeCaches() []string {
	return append(lifecycle.StoreCaches(), storeTrees+"/*")
}

func newStoreCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Show and prune kiln's local image store"}
	cmd.AddCommand(newStorePruneCmd(g), newStoreDfCmd(g))
	return cmd
}

func newStorePruneCmd(g *globalFlags) *cobra.Command {
	var maxSize, maxAge string
	cmd := &cobra.Command{
		Use:   "prune [--max-size SIZE] [--max-age DURATION]",
		Short: "Remove what the store does not need: unused layers, root filesystems, caches, leftover work directories",
		Long: `Remove from the store the layer blobs no image of its index names, unpacked
root filesystems, the lifecycle's fingerprint records and unpacked cache
trees, and the work directories kiln processes left behind (killed builds).
Images pulled into the store stay. Without limits all of that goes, and the
build caches kiln build keeps in the store stay; with --max-size the least
recently used entries, build caches included, go until the store fits, with
--max-age those unused for longer.

It is safe while other kiln processes use the store: nothing they may still
need is removed (anything used since the oldest of them started), nor their
work directories. kiln build does the same after each build when
--store-max-size or --store-max-age is set (or KILN_STORE_MAX_SIZE,
KILN_STORE_MAX_AGE, or store-max-size and store-max-age in kiln config).`,
		Example: `  kiln store prune
  kiln store prune --max-size 20G --max-age 168h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := pruneOptions(maxSize, maxAge, "--max-size", "--max-age")
			if err != nil {
				return err
			}
			store, err := g.openStore()
			if err != nil {
				return err
			}
			r, err := store.Prune(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %d entries (%s); the store holds %s\n",
				r.Removed, humanBytes(r.RemovedBytes), humanBytes(r.Size))
			return nil
		},
	}
	cmd.Flags().StringVar(&maxSize, "max-size", "", "keep the store within SIZE (bytes, or with K, M, G, T: powers of 1024)")
	cmd.Flags().StringVar(&maxAge, "max-age", "", "remove what was not used for DURATION (e.g. 72h)")
	return cmd
}

func newStoreDfCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "df",
		Short: "Show what the store holds, by kind, and what kiln store prune would free",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := g.openStore()
			if err != nil {
				return err
			}
			u, err := store.Usage(cmd.Context(), storeCaches())
			if err != nil {
				return err
			}
			return printUsage(cmd.OutOrStdout(), store.Dir(), u)
		},
	}
}

func printUsage(w io.Writer, dir string, u oci.Usage) error {
	fmt.Fprintf(w, "Store %s\n", dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSIZE\tENTRIES\tRECLAIMABLE")
	var reclaimable int64
	for _, k := range u.Kinds {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", k.Kind, humanBytes(k.Bytes), k.Entries, humanBytes(k.Reclaimable))
		reclaimable += k.Reclaimable
	}
	fmt.Fprintf(tw, "total\t%s\t\t%s\n", humanBytes(u.Total), humanBytes(reclaimable))
	return tw.Flush()
}

// pruneOptions parses a size and an age limit; flags name them in errors.
func pruneOptions(size, age, sizeFlag, ageFlag string) (oci.PruneOptions, error) {
	opts := oci.PruneOptions{Caches: storeCaches(), Tags: []string{cacheTagPrefix}}
	if size != "" {
		n, err := parseSize(size)
		if err != nil {
			return opts, fmt.Errorf("%s %q: %w", sizeFlag, size, err)
		}
		opts.MaxSize = n
	}
	if age != "" {
		if err := checkAge(age); err != nil {
			return opts, fmt.Errorf("%s %q: %w", ageFlag, age, err)
		}
		opts.MaxAge, _ = time.ParseDuration(age)
	}
	return opts, nil
}

// checkAge checks an age limit: a positive Go duration.
func checkAge(s string) error {
	if d, err := time.ParseDuration(s); err != nil || d <= 0 {
		return fmt.Errorf("want a positive duration such as 72h or 30m")
	}
	return nil
}

// parseSize reads a size: bytes, or a number with K, M, G or T (powers of
// 1024, optionally followed by "iB" or "B"), e.g. 512M, 1.5GiB, 20G.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	upper := strings.ToUpper(t)
	upper = strings.TrimSuffix(strings.TrimSuffix(upper, "B"), "I")
	if n := len(upper); n > 0 {
		if i := strings.IndexByte("KMGT", upper[n-1]); i >= 0 {
			mult = math.Pow(1024, float64(i+1))
			upper = upper[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(upper), 64)
	if err != nil || v <= 0 || math.IsInf(v*mult, 0) || v*mult > math.MaxInt64 {
		return 0, fmt.Errorf("want a positive size such as 512M, 20G or 1073741824")
	}
	return int64(v * mult), nil
}

// autoPrune keeps the store within --store-max-size and --store-max-age
// after a build: once the build's own lease has ended (its image written),
// so that what it used may go too, least recently used first. The trees it
// retires are removed by the next kiln, not now. A failure is a warning:
// the image is built.
func (g *globalFlags) autoPrune(ctx context.Context, stderr io.Writer) {
	if g.storeMaxSize == "" && g.storeMaxAge == "" {
		return
	}
	opts, err := pruneOptions(g.storeMaxSize, g.storeMaxAge, "--store-max-size", "--store-max-age")
	if err == nil {
		err = g.closeStore()
	}
	var store *oci.Store
	if err == nil {
		store, err = g.openStore()
	}
	if err == nil {
		opts.KeepTrash = true
		_, err = store.Prune(ctx, opts)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Warning: keeping the store within its limits: %v\n", err)
	}
}
