package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kilnbuild/kiln/sandbox"
)

// A lifecycle phase: one container, a process per buildpack, each running
// as the CNB user with /layers writable. The program's init must call
// sandbox.Init (this package's TestMain does).
func Example() {
	rootfs, cleanup := exampleRootfs()
	defer cleanup()
	layers, _ := os.MkdirTemp("", "layers")
	defer os.RemoveAll(layers)
	os.Chmod(layers, 0o777) // as root the processes are host uid 1000
	state, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(state)

	ctx := context.Background()
	c, err := sandbox.Start(ctx, sandbox.Config{
		Rootfs:   rootfs,
		Mounts:   []sandbox.Mount{{Source: layers, Destination: "/layers"}},
		Network:  sandbox.NetworkNone,
		StateDir: state,
		UID:      1000, // the user of its processes
		GID:      1000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	for _, bp := range []string{"node", "npm"} {
		code, err := c.Run(ctx, sandbox.Process{
			Args:   []string{"sh", "-c", `mkdir /layers/$0 && echo "$0 built as $(id -u)"`, bp},
			Env:    []string{"PATH=/bin"},
			UID:    1000,
			GID:    1000,
			Stdout: os.Stdout,
		})
		if err != nil || code != 0 {
			fmt.Println(code, err)
		}
	}
	// Output:
	// node built as 1000
	// npm built as 1000
}

// exampleRootfs assembles a busybox root filesystem.
func exampleRootfs() (string, func()) {
	dir, _ := os.MkdirTemp("", "rootfs")
	os.Chmod(dir, 0o755)
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	data, _ := os.ReadFile("/bin/busybox")
	os.WriteFile(filepath.Join(dir, "bin/busybox"), data, 0o755)
	for _, a := range []string{"sh", "id", "mkdir", "echo"} {
		os.Symlink("busybox", filepath.Join(dir, "bin", a))
	}
	return dir, func() { os.RemoveAll(dir) }
}
