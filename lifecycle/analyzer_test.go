package lifecycle

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/kilnbuild/kiln/oci"
)

func labelled(t *testing.T, labels map[string]string) v1.Image {
	t.Helper()
	img, err := mutate.Config(empty.Image, v1.Config{Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestAnalyzer(t *testing.T) {
	missingCache := &Cache{Ref: oci.Reference{Kind: oci.KindLayout, Path: filepath.Join(t.TempDir(), "none"), Tag: "cache"}}
	for _, tc := range []struct {
		name     string
		a        Analyzer
		want     string
		previous bool
	}{
		{"no previous image", Analyzer{PreviousName: "oci:out:app"}, "Previous image with name \"oci:out:app\" not found\n", false},
		{"no label", Analyzer{PreviousName: "x", Previous: labelled(t, nil)}, "Previous image x has no buildpack metadata\n", false},
		{"invalid label", Analyzer{PreviousName: "x", Previous: labelled(t, map[string]string{LabelLifecycleMetadata: "{"})},
			"Warning: ignoring the previous image x: ", false},
		{"previous image", Analyzer{PreviousName: "x", Previous: labelled(t, map[string]string{LabelLifecycleMetadata: `{"buildpacks":[{"key":"a/b","layers":{}}]}`})},
			"", true},
		{"no cache yet", Analyzer{PreviousName: "x", Cache: missingCache}, "not found\n", false},
		{"clear cache", Analyzer{PreviousName: "x", Cache: missingCache, SkipCache: true}, "Clearing the cache ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.a.Out = &out
			res, err := tc.a.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), "cache:") {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
			if got := res.Previous != nil && res.Metadata != nil; got != tc.previous {
				t.Errorf("previous image used: %v, want %v", got, tc.previous)
			}
		})
	}
}
