// Package platformtest holds end-to-end tests of kiln as the lifecycle
// inside its own builders, driven as real platforms drive the reference
// lifecycle: Tekton's one creator call, pack's five phases as separate
// containers sharing /layers, and kpack's phase sequence, each in a
// restricted pod of the Docker harness (testutil.SharedDocker), writing to
// a registry on 127.0.0.1. The tests need root (a private dockerd), so the
// package is not in hack/rootless-packages. It has no code of its own.
package platformtest
