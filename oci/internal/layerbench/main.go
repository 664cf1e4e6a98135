// Command layerbench generates test trees and exports them as layers, for
// hack/bench.d/layer-export.sh and hack/bench.d/overhead.sh:
//
//	layerbench gen DIR MB        writes a deterministic tree of about MB megabytes
//	layerbench files DIR N MB    writes N files of about MB megabytes in all (treegen.Files)
//	layerbench export DIR TMPDIR writes DIR as a layer into TMPDIR and prints
//	                             "seconds digest diffID size maxrss-kB"
//	layerbench pack FILE TMPDIR  the gzip floor of a layer holding FILE's bytes: FILE is
//	                             read into memory, then written as a one-file layer into
//	                             TMPDIR (sha256, kiln's parallel gzip, sha256, file, as
//	                             export does, without walking or reading a tree); prints
//	                             "seconds"
//
// maxrss is the process's peak resident set size (getrusage), which shows
// that export memory does not grow with the layer.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/oci/internal/treegen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "layerbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 4 && args[0] == "files" {
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		mb, err := strconv.ParseFloat(args[3], 64)
		if err != nil {
			return err
		}
		return treegen.Files(args[1], n, int64(mb*(1<<20)))
	}
	if len(args) != 3 {
		return fmt.Errorf("usage: layerbench gen DIR MB | files DIR N MB | export DIR TMPDIR | pack FILE TMPDIR")
	}
	switch args[0] {
	case "gen":
		mb, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil {
			return err
		}
		return treegen.Generate(args[1], mb<<20)
	case "export":
		start := time.Now()
		l, err := oci.LayerFromDir(context.Background(), args[1], oci.LayerOptions{TempDir: args[2]})
		if err != nil {
			return err
		}
		elapsed := time.Since(start)
		digest, _ := l.Digest()
		diffID, _ := l.DiffID()
		size, _ := l.Size()
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return err
		}
		fmt.Printf("%.3f %s %s %d %d\n", elapsed.Seconds(), digest, diffID, size, ru.Maxrss)
		if p, ok := oci.LayerFile(l); ok {
			return os.Remove(p)
		}
		return nil
	case "pack":
		b, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		start := time.Now()
		w, err := oci.NewLayerWriter(oci.LayerOptions{TempDir: args[2]})
		if err != nil {
			return err
		}
		if err := w.File("data", 0o644, 0, 0, int64(len(b)), bytes.NewReader(b)); err != nil {
			w.Abort()
			return err
		}
		l, err := w.Layer()
		if err != nil {
			return err
		}
		fmt.Printf("%.3f\n", time.Since(start).Seconds())
		if p, ok := oci.LayerFile(l); ok {
			return os.Remove(p)
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}
