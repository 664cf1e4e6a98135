package stackgen_test

import (
	"context"
	"fmt"
	"log"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/stackgen"
	"github.com/kilnbuild/kiln/stackgen/debian"
)

// Example makes a stack whose build image is a root filesystem plus the CNB
// user, and whose run image is made of Debian packages only, pinned by a
// lock and written to an OCI layout.
func Example() {
	ctx := context.Background()
	store, err := oci.OpenStore("/var/cache/kiln")
	if err != nil {
		log.Fatal(err)
	}
	spec := stackgen.Spec{
		ID:    "io.example.stacks.python",
		Build: stackgen.ImageSpec{Base: "rootfs:/srv/rootfs/bookworm.tar"},
		Run: stackgen.ImageSpec{
			Packages: []string{"base-files", "python3", "ca-certificates"},
			Exclude:  []string{"debconf", "perl-base", "dpkg"},
		},
		Debian: stackgen.DebianSpec{Sources: []debian.Source{{
			URI: "http://deb.debian.org/debian", Suites: []string{"bookworm"}, Components: []string{"main"},
			SignedBy: "/usr/share/keyrings/debian-archive-keyring.gpg",
		}}},
	}
	if spec.Lock, err = stackgen.Resolve(ctx, spec, stackgen.WithStore(store)); err != nil {
		log.Fatal(err)
	}
	if err := spec.Lock.WriteFile("stack.lock"); err != nil {
		log.Fatal(err)
	}
	build, run, err := stackgen.Generate(ctx, spec, stackgen.WithStore(store))
	if err != nil {
		log.Fatal(err)
	}
	for _, out := range []struct {
		ref string
		img v1.Image
	}{{"oci:stack:build", build}, {"oci:stack:run", run}} {
		ref, err := oci.ParseReference(out.ref)
		if err != nil {
			log.Fatal(err)
		}
		d, err := oci.Write(ctx, ref, out.img)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(out.ref, d)
	}
}
