package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/internal/atomicfile"
)

func init() { subcommandFactories = append(subcommandFactories, newInstallCmd) }

func newInstallCmd(*globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "install DEST",
		Short: "Copy this kiln binary to DEST (a file, or a directory to hold kiln)",
		Long: `Copy the running kiln binary to DEST, mode 0755, atomically. kiln's image
(make image) has nothing else in it: an init container or a CI step runs
"kiln install /shared/kiln" to hand kiln to the builder container through a
shared volume, where "kiln build --builder rootfs:/" runs it.`,
		Example: `  kiln install /kiln/bin/kiln
  kiln install /kiln/bin/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest, err := installDest(args[0])
			if err != nil {
				return err
			}
			if err := installSelf(dest); err != nil {
				return fmt.Errorf("installing kiln at %s: %w", dest, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kiln %s installed at %s\n", version, dest)
			return nil
		},
	}
}

// installDest is DEST, or DEST/kiln when DEST is a directory.
func installDest(dest string) (string, error) {
	fi, err := os.Stat(dest)
	switch {
	case err == nil && fi.IsDir():
		return filepath.Join(dest, "kiln"), nil
	case err == nil && !fi.Mode().IsRegular():
		return "", fmt.Errorf("kiln install: %s is neither a directory nor a regular file", dest)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("kiln install: %w", err)
	}
	return dest, nil
}

// installSelf copies /proc/self/exe (the binary running, whatever its
// name) to dest.
func installSelf(dest string) error {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := atomicfile.Create(dest, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
