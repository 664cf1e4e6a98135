package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDetectExitCodes(t *testing.T) {
	tests := []struct {
		name         string
		order        Order
		target       TargetData
		wantCode     int
		wantSentinel error
		wantOutput   string // in the error report of an errored buildpack
	}{
		{name: "all fail", order: orderOf(ref("test/optional-fail")), target: testTarget, wantCode: 20, wantSentinel: ErrNoGroupPassed},
		{name: "only optional", order: orderOf(GroupEntry{ID: "test/optional-fail", Version: "1.0.0", Optional: true}),
			target: testTarget, wantCode: 20, wantSentinel: ErrNoGroupPassed},
		{name: "errored", order: orderOf(ref("test/v12"), ref("test/detect-error")), target: testTarget,
			wantCode: 21, wantSentinel: ErrBuildpackErrored, wantOutput: "boom from detect"},
		{name: "second group errored", order: Order{{Group: []GroupEntry{ref("test/detect-error")}}, {Group: []GroupEntry{ref("test/optional-fail")}}},
			target: testTarget, wantCode: 21, wantSentinel: ErrBuildpackErrored},
		{name: "unmet require", order: orderOf(ref("test/v06")), target: testTarget, wantCode: 20, wantSentinel: ErrNoGroupPassed},
		{name: "unused provide", order: orderOf(ref("test/v08")), target: testTarget, wantCode: 20, wantSentinel: ErrNoGroupPassed},
		// The required v10 targets linux/amd64 only: a mismatch is an error.
		{name: "target mismatch", order: orderOf(ref("test/v10")), target: TargetData{OS: "linux", Arch: "arm64"},
			wantCode: 21, wantSentinel: ErrBuildpackErrored},
		{name: "distro mismatch", order: orderOf(ref("test/v12")), target: TargetData{OS: "linux", Distro: &Distro{Name: "ubuntu", Version: "22.04"}},
			wantCode: 21, wantSentinel: ErrBuildpackErrored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPaths(t, "")
			d := &Detector{Paths: p, Runner: ExecRunner{}, Order: tt.order, Target: tt.target, Env: baseEnv}
			_, err := d.Run(context.Background())
			if got := ExitCode(err); got != tt.wantCode {
				t.Fatalf("exit code %d, want %d (err %v)", got, tt.wantCode, err)
			}
			if !errors.Is(err, tt.wantSentinel) {
				t.Errorf("err %v is not %v", err, tt.wantSentinel)
			}
			var de *DetectError
			if !errors.As(err, &de) {
				t.Fatalf("err %T is not a *DetectError", err)
			}
			if tt.wantOutput != "" && (len(de.Buildpacks) != 1 || !strings.Contains(string(de.Buildpacks[0].Output), tt.wantOutput)) {
				t.Errorf("error report %+v lacks output %q", de.Buildpacks, tt.wantOutput)
			}
		})
	}
}

func TestDetectOptionalTargetMismatchStillRuns(t *testing.T) {
	p := testPaths(t, "")
	order := orderOf(ref("test/v12"), GroupEntry{ID: "test/v10", Version: "1.0.0", Optional: true})
	var out bytes.Buffer
	// v10 targets amd64; optional, so it still runs detect (a lifecycle quirk).
	d := &Detector{Paths: p, Runner: ExecRunner{}, Order: order, Target: TargetData{OS: "linux", Arch: "arm64"}, Env: baseEnv, Output: &out}
	res, err := d.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "v10 detect") {
		t.Errorf("optional v10 did not run detect; output:\n%s", out.String())
	}
	if len(res.Group.Group) != 2 {
		t.Errorf("group = %v", res.Group.Group)
	}
}

func TestBuildpackBuildFails(t *testing.T) {
	p := testPaths(t, "")
	var stderr bytes.Buffer
	b := &Builder{Paths: p, Runner: ExecRunner{}, Env: baseEnv, Stderr: &stderr,
		Group: Group{Group: []GroupEntry{ref("test/v12"), ref("test/build-fail"), ref("buildpacks/empty")}}}
	_, err := b.Run(context.Background())
	if got := ExitCode(err); got != 51 {
		t.Fatalf("exit code %d, want 51 (err %v)", got, err)
	}
	var be *BuildpackError
	if !errors.As(err, &be) || be.ID != "test/build-fail" || be.Code != 3 || be.Phase != "build" {
		t.Errorf("err = %#v", err)
	}
	if !strings.Contains(stderr.String(), "build is broken") {
		t.Errorf("build output not streamed: %q", stderr.String())
	}
}

func TestUnsupportedBuildpackAPI(t *testing.T) {
	dir := t.TempDir()
	inlineBuildpack(t, dir, "test/future", "0.13", "", "exit 0", "exit 0")
	p := testPaths(t, dir)
	d := &Detector{Paths: p, Runner: ExecRunner{}, Order: orderOf(ref("test/future")), Env: baseEnv}
	_, err := d.Run(context.Background())
	if ExitCode(err) != 12 || !errors.Is(err, ErrUnsupportedAPI) {
		t.Fatalf("err = %v (exit %d), want exit 12", err, ExitCode(err))
	}
	_, err = (&Detector{Paths: p, Runner: ExecRunner{}, Order: orderOf(ref("test/absent")), Env: baseEnv}).Run(context.Background())
	if ExitCode(err) != 22 || !errors.Is(err, ErrBuildpackNotFound) {
		t.Fatalf("err = %v (exit %d), want exit 22 and ErrBuildpackNotFound", err, ExitCode(err))
	}
}
