package main

import (
	"encoding/json"
	"os"
	"testing"
)

// TestBuildFailureReport: --report is written when the build fails too,
// with the phase that failed, kiln's exit code and the error, for CI.
func TestBuildFailureReport(t *testing.T) {
	e := newBuildEnv(t)
	builder := writeBuilder(t, e.dir, []string{"example/hello"}, "hello")
	empty := t.TempDir() // no app.sh: hello's detect says 100
	for _, tc := range []struct {
		name  string
		args  []string
		phase string
		code  int
	}{
		{"detect", []string{"--path", empty}, "detect", 20},
		{"setup", []string{"--path", "nowhere"}, "setup", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report := e.dir + "/report-" + tc.name + ".json"
			_, errOut, code := e.kiln(t, append([]string{"build", "oci:out:fail", "--builder", builder, "--report", report}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, errOut)
			}
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("no report after a failed build: %v", err)
			}
			var r failureReport
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if !r.Failed || r.Phase != tc.phase || r.ExitCode != tc.code || r.Error == "" || r.Image != "oci:out:fail" {
				t.Errorf("report %+v, want failed in %s with exit %d", r, tc.phase, tc.code)
			}
		})
	}
}
