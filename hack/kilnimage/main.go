// Command kilnimage writes kiln's own image, for make image: one layer with
// the static kiln binary at /usr/local/bin/kiln, nothing else, made with
// kiln's oci package (no Dockerfile, no daemon) and deterministic (same
// binary, same digest):
//
//	go run ./hack/kilnimage -binary bin/kiln -version 0.1.0 oci:bin/image:0.1.0
//
// The image is for an init container or a CI step that runs
// `kiln install /shared/kiln` to hand kiln to the builder container, and
// for steps that only move images (kiln image copy). It runs as 65532:65532
// (runAsNonRoot needs a numeric user) and has no CA bundle: mount one, or
// run such steps in the builder image with the installed binary.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
)

func main() {
	binary := flag.String("binary", "bin/kiln", "the static kiln binary")
	version := flag.String("version", "dev", "the version recorded in the image's labels")
	arch := flag.String("arch", runtime.GOARCH, "the binary's architecture")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: kilnimage [-binary FILE] [-version V] [-arch ARCH] REF")
		os.Exit(2)
	}
	digest, err := write(context.Background(), *binary, *version, *arch, flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kilnimage:", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s\n", flag.Arg(0), digest)
}
