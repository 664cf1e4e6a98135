package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/oci"
)

// phaseWorld is a default kiln builder (kiln's lifecycle at /cnb/lifecycle)
// with the hello and counter buildpacks (counter's launch layer "kept" is
// reused by its metadata when the previous image has it), its run image in a registry on 127.0.0.1 (the
// builder's /cnb/run.toml names it), and
// the phases run in it with kiln run: the builder image in kiln's sandbox,
// as root and rootless, the volumes a platform gives (/workspace, /layers,
// /cache, /out), the network the host's.
type phaseWorld struct {
	buildEnvDir
	reg, run string
}

func newPhaseWorld(t *testing.T) *phaseWorld {
	t.Helper()
	w := &phaseWorld{buildEnvDir: newBuildEnv(t)}
	w.reg = testutil.NewRegistry(t).Host
	w.run = w.reg + "/stack/run:1"
	if _, errOut, code := w.kiln(t, "image", "copy", "oci:stack:run", w.run); code != 0 {
		t.Fatalf("kiln image copy: exit %d\n%s", code, errOut)
	}
	builder := filepath.Join(w.dir, "builder.toml")
	testutil.WriteFile(t, builder, "[[buildpacks]]\nuri = \""+filepath.Join(pkgDir, "testdata", "buildpacks", "hello")+"\"\n"+
		"[[buildpacks]]\nuri = \""+filepath.Join(pkgDir, "testdata", "buildpacks", "counter")+"\"\n"+
		"[[order]]\n  [[order.group]]\n  id = \"example/hello\"\n  [[order.group]]\n  id = \"example/counter\"\n"+
		"[build]\nimage = \"oci:stack:build\"\n[[run.images]]\nimage = \""+w.run+"\"\n")
	if out, errOut, code := w.kiln(t, "builder", "create", "oci:builder", "--config", builder); code != 0 {
		t.Fatalf("kiln builder create: exit %d\n%s\n%s", code, out, errOut)
	}
	return w
}

// phasePod is one set of volumes the phases share.
type phasePod struct {
	workspace, layers, cache, out string
	env                           []string
}

func (w *phaseWorld) newPod(t *testing.T, env ...string) *phasePod {
	t.Helper()
	p := &phasePod{workspace: testutil.EmptyDir(t), layers: testutil.EmptyDir(t), cache: testutil.EmptyDir(t), out: testutil.EmptyDir(t), env: env}
	for _, f := range []string{"app.sh", "README"} {
		b, err := os.ReadFile(filepath.Join(w.app, f))
		if err != nil {
			t.Fatal(err)
		}
		testutil.WriteFile(t, filepath.Join(p.workspace, f), string(b))
		os.Chmod(filepath.Join(p.workspace, f), 0o644)
	}
	return p
}

// phase runs a lifecycle binary of the builder in p and returns its
// output and exit code.
func (w *phaseWorld) phase(t *testing.T, p *phasePod, env []string, binary string, args ...string) (string, string, int) {
	t.Helper()
	run := []string{"run", "--volume", p.workspace + ":/workspace", "--volume", p.layers + ":/layers",
		"--volume", p.cache + ":/cache", "--volume", p.out + ":/out"}
	for _, e := range append(append([]string(nil), p.env...), env...) {
		run = append(run, "--env", e)
	}
	run = append(run, "--entrypoint", "/cnb/lifecycle/"+binary, "oci:builder")
	return w.kiln(t, append(run, args...)...)
}

// creator runs the creator in p to the image ref, checks it succeeded and
// returns its output and the digest report.toml records.
func (w *phaseWorld) creator(t *testing.T, p *phasePod, env []string, ref string, args ...string) (out, digest string) {
	t.Helper()
	stdout, errOut, code := w.phase(t, p, env, "creator", append(args, ref)...)
	if code != 0 {
		t.Fatalf("creator %s: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout, errOut)
	}
	b, err := os.ReadFile(filepath.Join(p.layers, "report.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m := reportTOMLDigest.FindSubmatch(b)
	if m == nil {
		t.Fatalf("report.toml has no digest:\n%s", b)
	}
	return stdout + errOut, string(m[1])
}

var reportTOMLDigest = regexp.MustCompile(`digest = "(sha256:[0-9a-f]{64})"`)

// labelsOf reads the image at ref and returns its labels.
func labelsOf(t *testing.T, ref string) map[string]string {
	t.Helper()
	return configOf(t, readImage(t, ref)).Config.Labels
}

// The creator's inputs that have no flag in the pod tests, each from its
// CNB_* variable and from its flag over a different value of the variable,
// and the inputs that are accepted without effect: the same image.
func TestLifecycleCreatorInputs(t *testing.T) {
	w := newPhaseWorld(t)
	img := w.reg + "/app/creator"
	base := []string{"-run-image=" + w.run}
	p := w.newPod(t, "CNB_PLATFORM_API=0.13")
	out, want := w.creator(t, p, nil, img+":base", base...)
	if strings.Contains(out, "level=DEBUG") {
		t.Errorf("debug output at the default log level:\n%s", out)
	}

	t.Run("accepted without effect", func(t *testing.T) {
		// No image extensions, no daemon, no launcher SBOM, no parallel
		// export: the same image, and no colour in the output.
		env := []string{"CNB_EXTENSIONS_DIR=/none", "CNB_GENERATED_DIR=/none", "CNB_EXTENDED_DIR=/none",
			"CNB_BUILD_IMAGE=" + w.reg + "/none:1", "CNB_LAUNCH_CACHE_DIR=/cache/launch", "CNB_PARALLEL_EXPORT=true", "CNB_NO_COLOR=true"}
		out, got := w.creator(t, w.newPod(t, "CNB_PLATFORM_API=0.13"), env, img+":noeffect",
			append(base, "-launch-cache=/cache/launch", "-launcher-sbom=/workspace", "-parallel", "-no-color")...)
		if got != want {
			t.Errorf("digest %s, want %s without the flags", got, want)
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("colour in the output:\n%q", out)
		}
	})

	t.Run("log level", func(t *testing.T) {
		for _, tc := range []struct {
			env   []string
			args  []string
			debug bool
		}{
			{[]string{"CNB_LOG_LEVEL=debug"}, nil, true},
			{nil, []string{"-log-level=debug"}, true},
			{[]string{"CNB_LOG_LEVEL=debug"}, []string{"-log-level=info"}, false},
		} {
			out, got := w.creator(t, w.newPod(t, "CNB_PLATFORM_API=0.13"), tc.env, img+":log", append(base, tc.args...)...)
			if strings.Contains(out, "level=DEBUG") != tc.debug {
				t.Errorf("%v %v: debug output %v, want %v:\n%s", tc.env, tc.args, !tc.debug, tc.debug, out)
			}
			if got != want {
				t.Errorf("%v %v: digest %s, want %s", tc.env, tc.args, got, want)
			}
		}
	})

	t.Run("platform directory", func(t *testing.T) {
		// The hello buildpack fails when the platform's env/FAIL_BUILD is set.
		p := w.newPod(t, "CNB_PLATFORM_API=0.13")
		testutil.WriteFile(t, filepath.Join(p.out, "platform", "env", "FAIL_BUILD"), "1")
		env := []string{"CNB_PLATFORM_DIR=/out/platform"}
		out, errOut, code := w.phase(t, p, env, "creator", append(base, img+":platform")...)
		if code != 51 || !strings.Contains(out+errOut, "failing as asked") {
			t.Errorf("CNB_PLATFORM_DIR: exit %d, want 51 (the build failing as asked)\n%s\n%s", code, out, errOut)
		}
		if _, got := w.creator(t, p, env, img+":platform", append(base, "-platform=/platform")...); got != want {
			t.Errorf("-platform over CNB_PLATFORM_DIR: digest %s, want %s", got, want)
		}
	})

	t.Run("process type", func(t *testing.T) {
		p := w.newPod(t, "CNB_PLATFORM_API=0.13")
		w.creator(t, p, []string{"CNB_PROCESS_TYPE=tool"}, img+":tool", base...)
		if ep := configOf(t, readImage(t, img+":tool")).Config.Entrypoint; len(ep) != 1 || ep[0] != "/cnb/process/tool" {
			t.Errorf("CNB_PROCESS_TYPE=tool: entrypoint %q", ep)
		}
		if _, got := w.creator(t, p, []string{"CNB_PROCESS_TYPE=tool"}, img+":web", append(base, "-process-type=web")...); got != want {
			t.Errorf("-process-type=web over CNB_PROCESS_TYPE: digest %s, want %s", got, want)
		}
	})

	t.Run("project metadata", func(t *testing.T) {
		p := w.newPod(t, "CNB_PLATFORM_API=0.13")
		for _, c := range []string{"env", "flag"} {
			testutil.WriteFile(t, filepath.Join(p.out, c+".toml"),
				"[source]\ntype = \"git\"\n[source.version]\ncommit = \""+c+"\"\n[source.metadata]\nrepository = \"https://example.com/app\"\n")
		}
		env := []string{"CNB_PROJECT_METADATA_PATH=/out/env.toml"}
		for ref, args := range map[string][]string{img + ":env": base, img + ":flag": append(base, "-project-metadata=/out/flag.toml")} {
			w.creator(t, p, env, ref, args...)
			c := ref[strings.LastIndex(ref, ":")+1:]
			wantLabel := `{"source":{"type":"git","version":{"commit":"` + c + `"},"metadata":{"repository":"https://example.com/app"}}}`
			if got := labelsOf(t, ref)[lifecycle.LabelProjectMetadata]; got != wantLabel {
				t.Errorf("%s: %s = %s, want %s", c, lifecycle.LabelProjectMetadata, got, wantLabel)
			}
		}
		// <layers>/project-metadata.toml by default.
		testutil.WriteFile(t, filepath.Join(p.layers, "project-metadata.toml"), "[source]\ntype = \"image\"\n[source.version]\nref = \"x\"\n")
		w.creator(t, p, nil, img+":default", base...)
		if got := labelsOf(t, img+":default")[lifecycle.LabelProjectMetadata]; !strings.Contains(got, `"type":"image"`) {
			t.Errorf("<layers>/project-metadata.toml: label %s", got)
		}
	})

	t.Run("skip restore", func(t *testing.T) {
		// counter's launch layer is reused from the previous image's
		// metadata unless -skip-restore (CNB_SKIP_RESTORE); the creator
		// does not read CNB_SKIP_LAYERS, the analyzer's and restorer's.
		for _, tc := range []struct {
			env    []string
			args   []string
			reused bool
		}{
			{nil, nil, true},
			{[]string{"CNB_SKIP_RESTORE=true"}, nil, false},
			{nil, []string{"-skip-restore"}, false},
			{[]string{"CNB_SKIP_RESTORE=true"}, []string{"-skip-restore=false"}, true},
			{[]string{"CNB_SKIP_LAYERS=true"}, nil, true},
		} {
			out, _ := w.creator(t, w.newPod(t, "CNB_PLATFORM_API=0.13"), tc.env, img+":skip",
				append(append(base, "-previous-image="+img+":base"), tc.args...)...)
			if reused := strings.Contains(out, "kept: reusing"); reused != tc.reused {
				t.Errorf("%v %v: kept reused %v, want %v:\n%s", tc.env, tc.args, reused, tc.reused, out)
			}
		}
	})

	t.Run("insecure registry", func(t *testing.T) {
		// A registry on 127.0.0.2 is reached over HTTPS unless named
		// insecure (-insecure-registry, CNB_INSECURE_REGISTRIES).
		plain := newTestRegistries(t, t.TempDir()).plainHost
		run := plain + "/stack/run:1"
		ref, err := oci.ParseReference(run)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oci.Write(context.Background(), ref, readImage(t, w.run), oci.WithInsecureRegistries(plain)); err != nil {
			t.Fatal(err)
		}
		p := w.newPod(t, "CNB_PLATFORM_API=0.13")
		out, errOut, code := w.phase(t, p, nil, "creator", "-run-image="+run, plain+"/app/x:1")
		if code != 1 || !strings.Contains(out+errOut, plain) {
			t.Errorf("without -insecure-registry: exit %d, want 1 (the creator's generic failure)\n%s\n%s", code, out, errOut)
		}
		// The image records its run image's name: the same image both ways.
		_, first := w.creator(t, p, nil, plain+"/app/x:1", "-run-image="+run, "-insecure-registry="+plain)
		if _, got := w.creator(t, p, []string{"CNB_INSECURE_REGISTRIES=example.com," + plain}, plain+"/app/x:2", "-run-image="+run); got != first {
			t.Errorf("CNB_INSECURE_REGISTRIES: digest %s, -insecure-registry %s", got, first)
		}
	})

	t.Run("cache image and order", func(t *testing.T) {
		// counter's cache-only layer counts the builds that restored it:
		// the second build with -cache-image restores the first's.
		cache := w.reg + "/app/creator-cache:1"
		for _, want := range []string{"counter: 1", "counter: 2"} {
			out, _ := w.creator(t, w.newPod(t, "CNB_PLATFORM_API=0.13"), nil, img+":cached", append(base, "-cache-image="+cache)...)
			if !strings.Contains(out, want) {
				t.Errorf("-cache-image: output lacks %q:\n%s", want, out)
			}
		}
		if labelsOf(t, cache)[lifecycle.LabelCacheMetadata] == "" {
			t.Errorf("the cache image %s has no %s label", cache, lifecycle.LabelCacheMetadata)
		}
		// -order over the builder's /cnb/order.toml (hello and counter).
		p := w.newPod(t, "CNB_PLATFORM_API=0.13")
		testutil.WriteFile(t, filepath.Join(p.out, "order.toml"), "[[order]]\n  [[order.group]]\n  id = \"example/hello\"\n  version = \"0.0.1\"\n")
		out, _ := w.creator(t, p, nil, img+":order", append(base, "-order=/out/order.toml")...)
		if !strings.Contains(out, "1 of 1 buildpacks participating") || strings.Contains(out, "counter") {
			t.Errorf("-order: not the order given:\n%s", out)
		}
	})

	t.Run("launcher", func(t *testing.T) {
		p := w.newPod(t, "CNB_PLATFORM_API=0.13")
		launcher := "#!/bin/sh\n# not kiln's launcher\nexec \"$@\"\n"
		testutil.WriteFile(t, filepath.Join(p.out, "launcher"), launcher)
		w.creator(t, p, nil, img+":launcher", append(base, "-launcher=/out/launcher")...)
		li := readImage(t, img+":launcher")
		meta, _, err := lifecycle.ParseLifecycleMetadata(configOf(t, li).Config.Labels)
		if err != nil {
			t.Fatal(err)
		}
		if got := layerFile(t, li, meta.Launcher.SHA, "cnb/lifecycle/launcher"); string(got) != launcher {
			t.Errorf("-launcher: the image's /cnb/lifecycle/launcher is not the file given (%d bytes)", len(got))
		}
	})
}

// Platform API 0.7–0.12, each with the rules that change the image at it:
// SOURCE_DATE_EPOCH from 0.9 (the epoch before), the BOM in the build label
// below 0.9, process commands as a string below 0.10, history created_by
// and runImage.image from 0.12.
func TestLifecyclePlatformAPIVersions(t *testing.T) {
	w := newPhaseWorld(t)
	sourceDate := time.Unix(1700000000, 0).UTC()
	for _, v := range []string{"0.7", "0.8", "0.9", "0.10", "0.11", "0.12"} {
		t.Run(v, func(t *testing.T) {
			ver, err := api.Parse(v)
			if err != nil {
				t.Fatal(err)
			}
			ref := w.reg + "/app/api:" + strings.ReplaceAll(v, ".", "-")
			w.creator(t, w.newPod(t, "CNB_PLATFORM_API="+v, "SOURCE_DATE_EPOCH=1700000000"), nil, ref, "-run-image="+w.run)
			cf := configOf(t, readImage(t, ref))
			wantCreated := oci.Epoch
			if ver.AtLeast("0.9") {
				wantCreated = sourceDate
			}
			if !cf.Created.Time.Equal(wantCreated) {
				t.Errorf("created %s, want %s", cf.Created.Time, wantCreated)
			}
			if got := envOf(cf.Config.Env, "CNB_PLATFORM_API"); got != v {
				t.Errorf("CNB_PLATFORM_API=%q in the image", got)
			}
			var build struct {
				BOM       json.RawMessage `json:"bom"`
				Processes []struct {
					Type    string          `json:"type"`
					Command json.RawMessage `json:"command"`
				} `json:"processes"`
			}
			if err := json.Unmarshal([]byte(cf.Config.Labels[lifecycle.LabelBuildMetadata]), &build); err != nil {
				t.Fatal(err)
			}
			if hasBOM := build.BOM != nil; hasBOM != ver.LessThan("0.9") {
				t.Errorf("bom in the build label: %v", hasBOM)
			}
			for _, pr := range build.Processes {
				if isString := strings.HasPrefix(string(pr.Command), `"`); isString != ver.LessThan("0.10") {
					t.Errorf("process %s command %s", pr.Type, pr.Command)
				}
			}
			if len(build.Processes) == 0 {
				t.Error("no processes in the build label")
			}
			named := false
			for _, h := range cf.History {
				named = named || h.CreatedBy != ""
			}
			if named != ver.AtLeast("0.12") {
				t.Errorf("history created_by: %v", named)
			}
			meta, _, err := lifecycle.ParseLifecycleMetadata(cf.Config.Labels)
			if err != nil {
				t.Fatal(err)
			}
			if hasName := meta.RunImage.Image != ""; hasName != ver.AtLeast("0.12") {
				t.Errorf("runImage.image %q", meta.RunImage.Image)
			}
		})
	}
}

// mustPhase runs a phase and fails t unless it exits 0.
func (w *phaseWorld) mustPhase(t *testing.T, p *phasePod, env []string, binary string, args ...string) string {
	t.Helper()
	out, errOut, code := w.phase(t, p, env, binary, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s\n%s", binary, strings.Join(args, " "), code, out, errOut)
	}
	return out + errOut
}

// The five phases' inputs that the pod tests do not give, the phases'
// generic exit codes, and the CNB_* variables of the analyzer, restorer
// and exporter, each under its flag.
func TestLifecyclePhaseInputs(t *testing.T) {
	w := newPhaseWorld(t)
	img := w.reg + "/app/phases"
	w.creator(t, w.newPod(t, "CNB_PLATFORM_API=0.13"), nil, img+":1", "-run-image="+w.run)

	t.Run("generic exit codes", func(t *testing.T) {
		p := w.newPod(t, "CNB_PLATFORM_API=0.13")
		for _, tc := range []struct {
			binary string
			args   []string
			code   int
			msg    string
		}{
			{"analyzer", []string{"-run-image=" + w.reg + "/stack/missing:1", img + ":2"}, 32, "stack/missing"},
			{"detector", nil, 22, "run the analyzer first"},
			{"builder", nil, 52, "run the analyzer first"},
		} {
			out, errOut, code := w.phase(t, p, nil, tc.binary, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.msg) {
				t.Errorf("%s: exit %d, want %d with %q\n%s\n%s", tc.binary, code, tc.code, tc.msg, out, errOut)
			}
		}
	})

	p := w.newPod(t, "CNB_PLATFORM_API=0.13")
	t.Run("previous image", func(t *testing.T) {
		// CNB_PREVIOUS_IMAGE names the previous image, -previous-image
		// over it another.
		env := []string{"CNB_PREVIOUS_IMAGE=" + img + ":1"}
		w.mustPhase(t, p, env, "analyzer", "-run-image="+w.run, "-previous-image="+img+":missing", img+":2")
		if a := readAnalyzedIn(t, p); a.Image.Reference != "" {
			t.Errorf("-previous-image of a missing image: analyzed.toml [image] %q", a.Image.Reference)
		}
		w.mustPhase(t, p, env, "analyzer", "-run-image="+w.run, img+":2")
		if a := readAnalyzedIn(t, p); !strings.HasPrefix(a.Image.Reference, img+"@sha256:") {
			t.Errorf("CNB_PREVIOUS_IMAGE: analyzed.toml [image] %q", a.Image.Reference)
		}
	})
	t.Run("analyzer", func(t *testing.T) {
		// -tag, -launch-cache and -skip-layers do not change analyzed.toml;
		// -layout reads the run image from -layout-dir.
		q := w.newPod(t, "CNB_PLATFORM_API=0.13")
		analyzed := filepath.Join(q.layers, "analyzed.toml")
		w.mustPhase(t, q, nil, "analyzer", "-run-image="+w.run, img+":1")
		want, err := os.ReadFile(analyzed)
		if err != nil {
			t.Fatal(err)
		}
		w.mustPhase(t, q, nil, "analyzer", "-run-image="+w.run, "-tag="+img+":t", "-launch-cache=/none", "-skip-layers", img+":1")
		if got, err := os.ReadFile(analyzed); err != nil || string(got) != string(want) {
			t.Errorf("-tag -launch-cache -skip-layers changed analyzed.toml: %v\n%s\nwas\n%s", err, got, want)
		}
		layout := filepath.Join(q.out, "al", w.reg, "stack", "run", "1")
		if _, errOut, code := w.kiln(t, "image", "copy", w.run, "oci:"+layout+":1"); code != 0 {
			t.Fatalf("kiln image copy: exit %d\n%s", code, errOut)
		}
		openTree(t, q.out) // for the phases' user, as root uid 1000
		// The five phases with -layout give the creator's image.
		w.mustPhase(t, q, nil, "analyzer", "-layout", "-layout-dir=/out/al", "-run-image="+w.run, img+":1")
		if ref := readAnalyzedIn(t, q).RunImage.Reference; !strings.Contains(ref, "/out/al/"+w.reg+"/stack/run/1") {
			t.Errorf("-layout: analyzed.toml names the run image %s, not the layout's", ref)
		}
		w.mustPhase(t, q, nil, "detector")
		w.mustPhase(t, q, nil, "restorer")
		w.mustPhase(t, q, nil, "builder")
		w.mustPhase(t, q, nil, "exporter", "-layout", "-layout-dir=/out/al", img+":1")
		c := w.newPod(t, "CNB_PLATFORM_API=0.13")
		c.out = q.out
		w.creator(t, c, nil, img+":2", "-layout", "-layout-dir=/out/al", "-run-image="+w.run)
		phases := digestOf(t, "oci:"+filepath.Join(q.out, "al", w.reg, "app", "phases", "1")+":1")
		if created := digestOf(t, "oci:"+filepath.Join(q.out, "al", w.reg, "app", "phases", "2")+":2"); phases != created {
			t.Errorf("-layout: the five phases gave %s, the creator %s", phases, created)
		}
	})
	// The builder's own paths are taken; the image-extension inputs do nothing.
	w.mustPhase(t, p, nil, "detector", "-buildpacks=/cnb/buildpacks", "-build-config=/cnb/build-config", "-run=/cnb/run.toml",
		"-extensions=/none", "-generated=/none")

	t.Run("restorer", func(t *testing.T) {
		// The previous image's layer metadata is restored unless
		// -skip-layers (CNB_SKIP_LAYERS); the image-extension inputs and
		// -layout change nothing.
		restored := filepath.Join(p.layers, "example_counter", "kept.toml")
		for _, tc := range []struct {
			env  []string
			args []string
			want bool
		}{
			{nil, []string{"-skip-layers"}, false},
			{[]string{"CNB_SKIP_LAYERS=true"}, nil, false},
			{[]string{"CNB_SKIP_RESTORE=true"}, nil, true},
			{[]string{"CNB_SKIP_LAYERS=true"}, []string{"-skip-layers=false"}, true},
			{nil, []string{"-build-image=" + w.reg + "/none:1", "-generated=/none", "-layout", "-layout-dir=/none"}, true},
		} {
			os.RemoveAll(filepath.Join(p.layers, "example_counter"))
			w.mustPhase(t, p, tc.env, "restorer", tc.args...)
			if _, err := os.Stat(restored); (err == nil) != tc.want {
				t.Errorf("%v %v: kept.toml restored %v, want %v", tc.env, tc.args, err == nil, tc.want)
			}
		}
	})
	t.Run("restorer insecure registry", func(t *testing.T) {
		// The previous image in a registry on 127.0.0.2, reached over
		// plain HTTP only when named insecure.
		plain := newTestRegistries(t, t.TempDir()).plainHost
		prev := plain + "/app/prev:1"
		r, err := oci.ParseReference(prev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oci.Write(context.Background(), r, readImage(t, img+":1"), oci.WithInsecureRegistries(plain)); err != nil {
			t.Fatal(err)
		}
		q := w.newPod(t, "CNB_PLATFORM_API=0.13")
		w.mustPhase(t, q, nil, "analyzer", "-insecure-registry="+plain, "-run-image="+w.run, prev)
		w.mustPhase(t, q, nil, "detector")
		// Not reached, the previous image counts as absent, as for the
		// lifecycle: nothing is restored.
		kept := filepath.Join(q.layers, "example_counter", "kept.toml")
		w.mustPhase(t, q, nil, "restorer")
		if _, err := os.Stat(kept); err == nil {
			t.Errorf("without -insecure-registry: the metadata of an image on %s restored", plain)
		}
		w.mustPhase(t, q, nil, "restorer", "-insecure-registry="+plain)
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("-insecure-registry: the previous image's metadata not restored: %v", err)
		}
	})
	w.mustPhase(t, p, nil, "builder", "-buildpacks=/cnb/buildpacks", "-build-config=/cnb/build-config")

	t.Run("exporter", func(t *testing.T) {
		// CNB_CACHE_DIR, CNB_USE_LAYOUT and CNB_LAYOUT_DIR, and the flags over them.
		out, _, code := w.phase(t, p, []string{"CNB_CACHE_DIR=/cache/env", "CNB_USE_LAYOUT=true", "CNB_LAYOUT_DIR=/out/env"},
			"exporter", img+":2")
		if code != 0 {
			t.Fatalf("exporter: exit %d\n%s", code, out)
		}
		readImage(t, "oci:"+filepath.Join(p.out, "env", w.reg, "app", "phases", "2")+":2")
		if _, err := os.Stat(filepath.Join(p.cache, "env", "index.json")); err != nil {
			t.Errorf("CNB_CACHE_DIR: no cache written: %v", err)
		}
		// More image arguments are more tags, in report.toml too; the
		// daemon, SBOM, extension and parallel inputs change nothing.
		w.mustPhase(t, p, []string{"CNB_CACHE_DIR=/cache/env2", "CNB_USE_LAYOUT=true", "CNB_LAYOUT_DIR=/out/env2"},
			"exporter", "-cache-dir=/cache/flag", "-layout-dir=/out/flag", "-launch-cache=/none", "-launcher-sbom=/none",
			"-extended=/none", "-parallel", "-run-image="+w.run, img+":2", img+":extra")
		envImage := "oci:" + filepath.Join(p.out, "env", w.reg, "app", "phases", "2") + ":2"
		if got := digestOf(t, "oci:"+filepath.Join(p.out, "flag", w.reg, "app", "phases", "2")+":2"); got != digestOf(t, envImage) {
			t.Errorf("exporter: the no-effect flags changed the image (%s, was %s)", got, digestOf(t, envImage))
		}
		readImage(t, "oci:"+filepath.Join(p.out, "flag", w.reg, "app", "phases", "extra")+":extra")
		if b, err := os.ReadFile(filepath.Join(p.layers, "report.toml")); err != nil || !strings.Contains(string(b), img+":extra") {
			t.Errorf("report.toml lacks the extra tag: %v\n%s", err, b)
		}
		for _, d := range []string{filepath.Join(p.cache, "env2"), filepath.Join(p.out, "env2")} {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("%s written, though a flag named another", d)
			}
		}
		if _, err := os.Stat(filepath.Join(p.cache, "flag", "index.json")); err != nil {
			t.Errorf("-cache-dir: no cache written: %v", err)
		}

		// -launcher and -project-metadata, and the output in a registry on
		// 127.0.0.2 reached only with -insecure-registry.
		plain := newTestRegistries(t, t.TempDir()).plainHost
		launcher := "#!/bin/sh\n# the exporter's -launcher\nexec \"$@\"\n"
		testutil.WriteFile(t, filepath.Join(p.out, "launcher"), launcher)
		testutil.WriteFile(t, filepath.Join(p.out, "pm.toml"), "[source]\ntype = \"git\"\n[source.version]\ncommit = \"exporter\"\n")
		args := []string{"-launcher=/out/launcher", "-project-metadata=/out/pm.toml", plain + "/app/exported:1"}
		if out, errOut, code := w.phase(t, p, nil, "exporter", args...); code != 62 || !strings.Contains(out+errOut, plain) {
			t.Errorf("exporter to %s without -insecure-registry: exit %d, want 62\n%s\n%s", plain, code, out, errOut)
		}
		w.mustPhase(t, p, nil, "exporter", append([]string{"-insecure-registry=" + plain}, args...)...)
		ei := readImageWith(t, plain+"/app/exported:1", oci.WithInsecureRegistries(plain))
		cf := configOf(t, ei)
		if got := cf.Config.Labels[lifecycle.LabelProjectMetadata]; !strings.Contains(got, `"commit":"exporter"`) {
			t.Errorf("-project-metadata: label %s", got)
		}
		meta, _, err := lifecycle.ParseLifecycleMetadata(cf.Config.Labels)
		if err != nil {
			t.Fatal(err)
		}
		if got := layerFile(t, ei, meta.Launcher.SHA, "cnb/lifecycle/launcher"); string(got) != launcher {
			t.Errorf("-launcher: the image's launcher is not the file given (%d bytes)", len(got))
		}
	})
}

// openTree makes dir and what it holds writable by every user.
func openTree(t *testing.T, dir string) {
	t.Helper()
	if err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			err = os.Chmod(p, 0o777)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func readAnalyzedIn(t *testing.T, p *phasePod) lifecycle.Analyzed {
	t.Helper()
	a, err := lifecycle.ReadAnalyzed(filepath.Join(p.layers, "analyzed.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return a
}
