package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstall copies the running binary to a file and into a directory,
// mode 0755, and refuses a destination that is neither.
func TestInstall(t *testing.T) {
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct{ dest, want string }{
		{filepath.Join(dir, "bin-kiln"), filepath.Join(dir, "bin-kiln")},
		{dir, filepath.Join(dir, "kiln")},
	} {
		out, errOut, code := kilnImage(t, "install", tc.dest)
		if code != 0 || !strings.Contains(out, "installed at "+tc.want) {
			t.Fatalf("kiln install %s: exit %d\n%s%s", tc.dest, code, out, errOut)
		}
		got, err := os.ReadFile(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(tc.want)
		if !bytes.Equal(got, self) || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %d bytes (want %d), mode %v", tc.want, len(got), len(self), fi.Mode())
		}
	}
	if _, errOut, code := kilnImage(t, "install", "/dev/null"); code == 0 || !strings.Contains(errOut, "neither a directory nor a regular file") {
		t.Errorf("kiln install /dev/null: exit %d %s", code, errOut)
	}
}
