package appimage

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/oci"
)

// checkRebase returns every check the new run image fails (CNB contract
// §6): from Platform API 0.12 the rebasable label, the target and the
// recorded run image name; before, the stack ID and the mixins.
func checkRebase(api api.Version, app, base *v1.ConfigFile, meta lifecycle.LifecycleMetadata, runImage string) []error {
	var failed []error
	if api.LessThan("0.12") {
		appID, baseID := app.Config.Labels[LabelStackID], base.Config.Labels[LabelStackID]
		if appID != baseID {
			failed = append(failed, fmt.Errorf("%w: app image stack %q, run image %s stack %q",
				ErrStackMismatch, appID, runImage, baseID))
		}
		if missing := missingMixins(app.Config.Labels[LabelStackMixins], base.Config.Labels[LabelStackMixins]); len(missing) > 0 {
			failed = append(failed, fmt.Errorf("%w: run image %s lacks %s",
				ErrMixinsMissing, runImage, strings.Join(missing, ", ")))
		}
		return failed
	}
	if app.Config.Labels[LabelRebasable] == "false" {
		failed = append(failed, ErrNotRebasable)
	}
	if err := checkTarget(app, base); err != nil {
		failed = append(failed, fmt.Errorf("%w: run image %s: %v", ErrTargetMismatch, runImage, err))
	}
	local := app.Config.Labels[lifecycle.LabelLocalRunImage]
	if !records(&meta, local, runImage) {
		failed = append(failed, fmt.Errorf("%w: %s is not among %s (a new name needs force)",
			ErrRunImageNotRecorded, runImage, strings.Join(recordedNames(&meta, local), ", ")))
	}
	return failed
}

// checkTarget compares the new base with the app image: os and
// architecture must be equal; the variant and the distribution name and
// version too, when the new base sets them.
func checkTarget(app, base *v1.ConfigFile) error {
	if base.OS != app.OS || base.Architecture != app.Architecture {
		return fmt.Errorf("it is %s/%s, the app image %s/%s", base.OS, base.Architecture, app.OS, app.Architecture)
	}
	if base.Variant != "" && app.Variant != "" && base.Variant != app.Variant {
		return fmt.Errorf("its variant is %s, the app image's %s", base.Variant, app.Variant)
	}
	for _, l := range []string{LabelDistroName, LabelDistroVersion} {
		if v := base.Config.Labels[l]; v != "" && v != app.Config.Labels[l] {
			return fmt.Errorf("its %s is %q, the app image's %q", l, v, app.Config.Labels[l])
		}
	}
	return nil
}

// missingMixins returns the mixins of the app label that the base label
// lacks; "build:" and "run:" prefixes are ignored on both sides.
func missingMixins(appLabel, baseLabel string) []string {
	parse := func(s string) []string {
		var list []string
		if s != "" {
			_ = json.Unmarshal([]byte(s), &list) // an unreadable label lists no mixins
		}
		for i, m := range list {
			m = strings.TrimPrefix(m, "build:")
			list[i] = strings.TrimPrefix(m, "run:")
		}
		return list
	}
	have := map[string]bool{}
	for _, m := range parse(baseLabel) {
		have[m] = true
	}
	var missing []string
	for _, m := range parse(appLabel) {
		if !have[m] {
			missing = append(missing, m)
		}
	}
	return missing
}

// records reports whether the metadata m names the run image n, compared
// by name: the tag kept, a digest dropped.
func records(m *lifecycle.LifecycleMetadata, local, n string) bool {
	want := comparableImageName(n)
	for _, have := range recordedNames(m, local) {
		if comparableImageName(have) == want {
			return true
		}
	}
	return false
}

// recordedNames are the run image names the label records, and the
// kiln-local one of LabelLocalRunImage.
func recordedNames(m *lifecycle.LifecycleMetadata, local string) []string {
	names := m.RunImageNames()
	if local != "" {
		names = append(names, local)
	}
	return names
}

// comparableImageName normalises an image name for comparison: registry
// names fully qualified with their tag (default latest) and no digest,
// layouts and archives with a clean path and their tag.
func comparableImageName(s string) string {
	ref, err := oci.ParseReference(s)
	if err != nil {
		return s
	}
	switch ref.Kind {
	case oci.KindLayout, oci.KindArchive:
		ref.Path = filepath.Clean(ref.Path)
		return ref.String()
	}
	base, _, _ := strings.Cut(s, "@")
	t, err := name.NewTag(base, name.WeakValidation)
	if err != nil {
		return s
	}
	return t.Name()
}
