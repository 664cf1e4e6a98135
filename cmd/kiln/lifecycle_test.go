package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The Platform API command line before any phase runs: the argv[0]
// dispatch, the CNB_PLATFORM_API handshake, flags of the declared versions
// and the exit codes of bad invocations (CNB contract §2.1, §2.7). The
// phases themselves run in internal/platformtest, in pods.
func TestLifecycleCommandLine(t *testing.T) {
	layers := t.TempDir()
	for _, tc := range []struct {
		name string
		argv []string
		env  []string
		code int
		want string
	}{
		{"not a phase", []string{"/usr/bin/kiln", "version"}, nil, -1, ""},
		{"no CNB_PLATFORM_API", []string{"/cnb/lifecycle/creator", "img"}, nil, 11, "please set 'CNB_PLATFORM_API'"},
		{"Platform API too new", []string{"/cnb/lifecycle/detector"}, []string{"CNB_PLATFORM_API=0.15"}, 11, "incompatible with the lifecycle"},
		{"Platform API too old", []string{"/cnb/lifecycle/detector"}, []string{"CNB_PLATFORM_API=0.6"}, 11, "incompatible with the lifecycle"},
		{"Platform API garbage", []string{"/cnb/lifecycle/detector"}, []string{"CNB_PLATFORM_API=x"}, 11, "failed to parse platform API"},
		{"unknown flag", []string{"/cnb/lifecycle/creator", "-bogus", "img"}, []string{"CNB_PLATFORM_API=0.13"}, 2, "flag provided but not defined: -bogus"},
		{"flag of a later Platform API", []string{"/cnb/lifecycle/analyzer", "-insecure-registry", "r", "img"}, []string{"CNB_PLATFORM_API=0.12"}, 2, "-insecure-registry"},
		{"flag of an earlier Platform API", []string{"/cnb/lifecycle/analyzer", "-stack", "s.toml", "img"}, []string{"CNB_PLATFORM_API=0.12"}, 2, "-stack"},
		{"creator without the image", []string{"/cnb/lifecycle/creator"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "received 0 arguments, but expected 1"},
		{"exporter without the image", []string{"/cnb/lifecycle/exporter"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "at least one image argument is required"},
		{"builder with an argument", []string{"/cnb/lifecycle/builder", "x"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "received unexpected arguments"},
		{"-daemon", []string{"/cnb/lifecycle/creator", "-daemon", "img"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "no daemon export"},
		{"CNB_USE_DAEMON", []string{"/cnb/lifecycle/exporter", "img"}, []string{"CNB_PLATFORM_API=0.13", "CNB_USE_DAEMON=true"}, 3, "no daemon export"},
		{"-buildpacks elsewhere", []string{"/cnb/lifecycle/detector", "-buildpacks", "/elsewhere"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "reads the builder it runs in"},
		{"builder -buildpacks elsewhere", []string{"/cnb/lifecycle/builder", "-buildpacks", "/elsewhere"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "-buildpacks (CNB_BUILDPACKS_DIR) /elsewhere"},
		{"builder -build-config elsewhere", []string{"/cnb/lifecycle/builder", "-build-config", "/elsewhere"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "-build-config (CNB_BUILD_CONFIG_DIR) /elsewhere"},
		{"CNB_BUILDPACKS_DIR elsewhere", []string{"/cnb/lifecycle/creator", "img"}, []string{"CNB_PLATFORM_API=0.13", "CNB_BUILDPACKS_DIR=/elsewhere"}, 3, "reads the builder it runs in"},
		{"CNB_BUILD_CONFIG_DIR elsewhere", []string{"/cnb/lifecycle/creator", "img"}, []string{"CNB_PLATFORM_API=0.13", "CNB_BUILD_CONFIG_DIR=/elsewhere"}, 3, "reads the builder it runs in"},
		{"CNB_RUN_PATH elsewhere", []string{"/cnb/lifecycle/analyzer", "img"}, []string{"CNB_PLATFORM_API=0.13", "CNB_RUN_PATH=/elsewhere/run.toml"}, 3, "-run (CNB_RUN_PATH)"},
		{"CNB_STACK_PATH elsewhere", []string{"/cnb/lifecycle/analyzer", "img"}, []string{"CNB_PLATFORM_API=0.11", "CNB_STACK_PATH=/elsewhere/stack.toml"}, 3, "-stack (CNB_STACK_PATH)"},
		{"restorer -run elsewhere", []string{"/cnb/lifecycle/restorer", "-run", "/elsewhere/run.toml"}, []string{"CNB_PLATFORM_API=0.14"}, 3, "-run (CNB_RUN_PATH)"},
		{"restorer -run before 0.14", []string{"/cnb/lifecycle/restorer", "-run", "/cnb/run.toml"}, []string{"CNB_PLATFORM_API=0.13"}, 2, "-run"},
		{"restorer -daemon", []string{"/cnb/lifecycle/restorer", "-daemon"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "no daemon export"},
		{"analyzer -daemon", []string{"/cnb/lifecycle/analyzer", "-daemon", "img"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "no daemon export"},
		{"exporter -daemon", []string{"/cnb/lifecycle/exporter", "-daemon", "img"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "no daemon export"},
		{"lifecycle -version", []string{"/cnb/lifecycle/lifecycle", "-version"}, nil, 0, version + "\n"},
		{"lifecycle without a phase", []string{"/cnb/lifecycle/lifecycle"}, nil, 3, "failed to parse arguments"},
		{"lifecycle with an unknown phase", []string{"/cnb/lifecycle/lifecycle", "extend"}, []string{"CNB_PLATFORM_API=0.13"}, 3, "failed to recognize phase: extend"},
		// Outside a builder image (no /workspace, no /cnb): the phases'
		// generic exit codes.
		{"lifecycle restore outside a builder", []string{"/cnb/lifecycle/lifecycle", "restore", "-layers", layers}, []string{"CNB_PLATFORM_API=0.13"}, 42, "ERROR: failed to restore"},
		{"exporter outside a builder", []string{"/cnb/lifecycle/exporter", "-layers", layers, "img"}, []string{"CNB_PLATFORM_API=0.13"}, 62, "ERROR: failed to export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code, ok := lifecycleMain(tc.argv, &out, &errOut, tc.env)
			if !ok {
				code = -1
			}
			if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
				t.Errorf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tc.code, tc.want, out.String(), errOut.String())
			}
		})
	}
}

// The detector and builder refuse to run as root, as the lifecycle's do;
// the other phases become the CNB user instead.
func TestLifecycleRefusesRootForBuildpacks(t *testing.T) {
	var out, errOut bytes.Buffer
	code, _ := lifecycleMain([]string{"/cnb/lifecycle/builder", "-layers", t.TempDir()}, &out, &errOut, []string{"CNB_PLATFORM_API=0.13"})
	refused := strings.Contains(errOut.String(), "refusing to run as root")
	if os.Getuid() == 0 && (code != 1 || !refused) {
		t.Errorf("as root: exit %d, want 1 refusing\n%s", code, errOut.String())
	}
	if os.Getuid() != 0 && refused {
		t.Errorf("not root, refused anyway:\n%s", errOut.String())
	}
}
