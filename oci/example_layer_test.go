package oci_test

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/kilnbuild/kiln/oci"
)

// A process-types layer as the CNB exporter writes it: root-owned entries
// with absolute names, one symlink per process type. The same calls give
// the same diffID and digest on any machine.
func ExampleLayerWriter() {
	w, err := oci.NewLayerWriter(oci.LayerOptions{})
	if err != nil {
		panic(err)
	}
	_ = w.Dir("/cnb", fs.ModeDir|0o755, 0, 0)
	_ = w.Dir("/cnb/process", fs.ModeDir|0o755, 0, 0)
	_ = w.Symlink("/cnb/process/web", "/cnb/lifecycle/launcher", 0, 0)
	layer, err := w.Layer() // returns the first error of the calls above, if any
	if err != nil {
		panic(err)
	}
	if p, ok := oci.LayerFile(layer); ok {
		defer os.Remove(p)
	}
	diffID, _ := layer.DiffID()
	fmt.Println(diffID)
	// Output: sha256:7f808103f716e3a7a749aced8006ef1287d4d547dbfdea2d71a21558f9b7bb79
}
