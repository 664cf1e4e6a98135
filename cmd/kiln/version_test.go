package main

import "testing"

func TestVersion(t *testing.T) {
	out, errOut, code := kilnImage(t, "version")
	want := "kiln " + version + "\nBuildpack API: 0.2–0.12\nPlatform API: 0.7–0.14\n"
	if code != 0 || out != want {
		t.Errorf("kiln version: exit %d, %q; want %q\n%s", code, out, want, errOut)
	}
}
