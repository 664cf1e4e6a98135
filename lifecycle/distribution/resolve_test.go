package distribution

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFetchModulesAndResolveOrder(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	dirA := writeBuildpack(t, filepath.Join(src, "a"), bpA)
	dirA2 := writeBuildpack(t, filepath.Join(src, "a2"), fixtureBuildpack{id: "acme/a", version: "1.1.0"})
	dirB := writeBuildpack(t, filepath.Join(src, "b"), bpB)
	dirMeta := writeBuildpack(t, filepath.Join(src, "meta"), bpMeta)
	loop := fixtureBuildpack{id: "acme/loop", version: "1", order: Order{{Group: []ModuleRef{{ID: "acme/loop", Version: "1"}}}}}
	dirLoop := writeBuildpack(t, filepath.Join(src, "loop"), loop)

	if _, err := FetchModules(ctx, []ModuleConfig{{ID: "acme/b", URI: dirA}}, t.TempDir()); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("id mismatch: error %v", err)
	}
	if _, err := FetchModules(ctx, []ModuleConfig{{ID: "acme/a", Version: "9", URI: dirA}}, t.TempDir()); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("version mismatch: error %v", err)
	}
	if _, err := FetchModules(ctx, []ModuleConfig{{ID: "acme/a"}}, t.TempDir()); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no uri: error %v", err)
	}

	bps, err := FetchModules(ctx, []ModuleConfig{{ID: "acme/a", Version: "1.0.0", URI: dirA}, {URI: dirB}, {URI: dirMeta}},
		t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got, err := bps.ResolveOrder(Order{{Group: []ModuleRef{{ID: "acme/meta"}}}, {Group: []ModuleRef{{ID: "acme/a"}, {ID: "acme/b", Optional: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := Order{{Group: []ModuleRef{{ID: "acme/meta", Version: "0.1.0"}}},
		{Group: []ModuleRef{{ID: "acme/a", Version: "1.0.0"}, {ID: "acme/b", Version: "2.0.0", Optional: true}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved order (-want +got):\n%s", diff)
	}
	if _, err := bps.ResolveOrder(Order{{Group: []ModuleRef{{ID: "acme/nope"}}}}); !errors.Is(err, ErrInvalidConfig) ||
		!strings.Contains(err.Error(), "acme/nope") {
		t.Errorf("unknown id: error %v", err)
	}

	// A composite whose dependency is missing, two versions, a cycle.
	bps, err = FetchBuildpacks(ctx, []string{dirMeta, dirA, dirA2, dirLoop}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		ref    ModuleRef
		errHas string
	}{
		"missing dependency": {ModuleRef{ID: "acme/meta"}, "acme/b@2.0.0"},
		"ambiguous version":  {ModuleRef{ID: "acme/a"}, "several versions"},
		"cycle":              {ModuleRef{ID: "acme/loop"}, "includes itself"},
	} {
		_, err := bps.ResolveGroup([]ModuleRef{tc.ref})
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.errHas)
		}
	}
	if _, err := bps.ResolveGroup([]ModuleRef{{ID: "acme/a", Version: "1.1.0"}}); err != nil {
		t.Errorf("explicit version: %v", err)
	}
}
