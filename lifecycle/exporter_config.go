package lifecycle

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/kilnbuild/kiln/oci"
)

// defaultProcess returns the process type the entrypoint starts: the
// user's choice, which must exist, else the buildpacks' default, else ""
// (the bare launcher).
func (x *exporting) defaultProcess(m BuildMetadata) (string, error) {
	want := x.e.DefaultProcess
	if want == "" {
		return m.DefaultProcessType, nil
	}
	for _, p := range m.Processes {
		if p.Type == want {
			return want, nil
		}
	}
	return "", fmt.Errorf("setting default process type %q (processes: %v): %w", want, processTypes(m.Processes), ErrProcessTypeNotFound)
}

func processTypes(procs []Process) []string {
	types := []string{}
	for _, p := range procs {
		types = append(types, p.Type)
	}
	return types
}

// image applies the labels and config to the run image with the layers.
func (x *exporting) image(m BuildMetadata, defaultType string) (v1.Image, error) {
	labels, err := x.labels(m)
	if err != nil {
		return nil, err
	}
	entrypoint := []string{launcherPath}
	if defaultType != "" {
		fmt.Fprintf(x.out, "Setting default process type '%s'\n", defaultType)
		entrypoint = []string{path.Join(ProcessDir, defaultType)}
	} else {
		// What pack prints when the build has no default process.
		fmt.Fprintf(x.out, "Warning: default process type 'web' not present in list %v\n", processTypes(m.Processes))
	}
	x.report.DefaultProcess, x.report.Entrypoint = defaultType, entrypoint

	cf, err := x.e.RunImage.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading run image config: %w", err)
	}
	pathEnv := ProcessDir + ":" + lifecycleDir
	if p := envValue(cf.Config.Env, "PATH"); p != "" {
		pathEnv += ":" + p
	}
	workDir := x.app.Container
	img, err := oci.Mutate(x.e.RunImage, oci.Mutation{
		Labels: labels,
		Env: []string{
			"CNB_LAYERS_DIR=" + x.layers.Container,
			"CNB_APP_DIR=" + x.app.Container,
			"CNB_PLATFORM_API=" + x.api.String(),
			"CNB_DEPRECATION_MODE=quiet",
			"PATH=" + pathEnv,
		},
		Entrypoint: entrypoint,
		Cmd:        []string{},
		WorkingDir: &workDir,
		Layers:     x.adds,
		Created:    &x.created,
	})
	if err != nil {
		return nil, err
	}
	return x.stampHistory(img, len(cf.RootFS.DiffIDs), cf.History)
}

// stampHistory gives every history entry the created time, as imgutil
// does. Below Platform API 0.12 the history is reduced to one empty entry
// per layer (the lifecycle does not keep history there); from 0.12 a run
// image history that does not match its layers is replaced in the same
// way, so that the appended entries line up with their layers.
func (x *exporting) stampHistory(img v1.Image, runLayers int, runHistory []v1.History) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading app image config: %w", err)
	}
	cf = cf.DeepCopy()
	nonEmpty := 0
	for _, h := range runHistory {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	hist := cf.History
	if x.api.LessThan("0.12") || nonEmpty != runLayers {
		blank := make([]v1.History, runLayers)
		hist = append(blank, hist[len(runHistory):]...)
	}
	for i := range hist {
		hist[i].Created = v1.Time{Time: x.created}
		if x.api.LessThan("0.12") {
			hist[i] = v1.History{Created: hist[i].Created}
		}
	}
	cf.History = hist
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting app image history: %w", err)
	}
	return img, nil
}

// labels returns the labels to set, printing each as pack does: the three
// io.buildpacks labels, then the buildpacks' own (a later buildpack's key
// wins, which metadata.toml already reflects).
func (x *exporting) labels(m BuildMetadata) (map[string]string, error) {
	build := buildLabel(m, x.e.LauncherInfo, x.api)
	out := map[string]string{}
	for _, l := range []struct {
		key string
		v   any
	}{
		{LabelLifecycleMetadata, x.meta},
		{LabelBuildMetadata, build},
		{LabelProjectMetadata, x.e.Project},
	} {
		b, err := json.Marshal(l.v)
		if err != nil {
			return nil, fmt.Errorf("encoding label %s: %w", l.key, err)
		}
		fmt.Fprintf(x.out, "Adding label '%s'\n", l.key)
		out[l.key] = string(b)
	}
	if x.e.LocalRunImage != "" {
		out[LabelLocalRunImage] = x.e.LocalRunImage
	}
	for _, l := range m.Labels {
		fmt.Fprintf(x.out, "Adding label '%s'\n", l.Key)
		out[l.Key] = l.Value
	}
	return out, nil
}

// envValue returns the value of key in a KEY=VALUE list.
func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
