package oci

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestRootfsProgress(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// An incompressible file makes a layer of several progress steps.
	src := t.TempDir()
	big := make([]byte, 3*progressEvery)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(src, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	large, err := LayerFromDir(ctx, src, LayerOptions{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	small, err := random.Layer(1024, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, small, large)
	if err != nil {
		t.Fatal(err)
	}
	imgDigest := mustDigest(t, img)

	var events []Progress
	opts := UnpackOptions{Rootless: testutil.Rootless(), Progress: func(p Progress) { events = append(events, p) }}
	dir, err := s.Rootfs(ctx, img, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "big")); got != string(big) {
		t.Error("big was not unpacked whole")
	}

	// Per layer, in order: a first event at 0, growing counts, one Done at
	// the layer's size. Then one Done for the image.
	type summary struct {
		Blob         v1.Hash
		First, Total int64
		Steps        int
		Done         bool
	}
	var got []summary
	var sum int64
	for _, e := range events[:len(events)-1] {
		if e.Phase != PhaseUnpack || e.Ref != imgDigest.String() {
			t.Errorf("event %+v: want phase unpack of %s", e, imgDigest)
		}
		if len(got) == 0 || got[len(got)-1].Blob != e.Blob {
			got = append(got, summary{Blob: e.Blob, First: e.Complete})
		}
		g := &got[len(got)-1]
		if g.Done {
			t.Errorf("event after Done: %+v", e)
		}
		g.Steps++
		g.Total, g.Done = e.Total, e.Done
		if e.Done {
			if e.Complete != e.Total {
				t.Errorf("layer %s done at %d of %d bytes", e.Blob, e.Complete, e.Total)
			}
			sum += e.Complete
		}
	}
	var want []summary
	for _, l := range []v1.Layer{small, large} {
		d, _ := l.Digest()
		size, _ := l.Size()
		want = append(want, summary{Blob: d, Total: size, Done: true})
	}
	ignoreSteps := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Steps" }, cmp.Ignore())
	if diff := cmp.Diff(want, got, ignoreSteps); diff != "" {
		t.Errorf("layer events (-want +got):\n%s", diff)
	}
	if len(got) == 2 && got[1].Steps < 4 {
		t.Errorf("the large layer reported %d events, want a first, intermediate ones and a last", got[1].Steps)
	}
	last := events[len(events)-1]
	if diff := cmp.Diff(Progress{Phase: PhaseUnpack, Ref: imgDigest.String(), Complete: sum, Total: sum, Done: true}, last); diff != "" {
		t.Errorf("final event (-want +got):\n%s", diff)
	}

	// A cached tree reports nothing.
	events = nil
	if _, err := s.Rootfs(ctx, img, opts); err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Errorf("cached rootfs reported %d events", len(events))
	}
}
