package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/oci"
)

// kilnImage runs the CLI in-process and returns its stdout, stderr and exit
// code.
func kilnImage(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	code = exitCode(&errOut, err)
	return out.String(), errOut.String(), code
}

func TestImageCopy(t *testing.T) {
	ctx := context.Background()
	reg := testutil.NewRegistry(t)
	src := reg.Host + "/kiln/stack:1"
	srcRef, err := oci.ParseReference(src)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, err := oci.Write(ctx, srcRef, img)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	layout := "oci:" + filepath.Join(dir, "layout") + ":stack"
	archive := "docker-archive:" + filepath.Join(dir, "stack.tar") + ":kiln/stack:1"

	// registry -> layout keeps the digest and fills the store.
	out, errOut, code := kilnImage(t, "--store", store, "image", "copy", src, layout)
	if code != 0 || strings.TrimSpace(out) != want.String() {
		t.Fatalf("copy to the layout: exit %d, stdout %q (want %s), stderr:\n%s", code, out, want, errOut)
	}
	if !strings.Contains(errOut, "pulled "+src+" sha256:") || strings.Contains(errOut, "\r") {
		t.Errorf("stderr is not a TTY, want one line per pulled blob, got:\n%q", errOut)
	}

	// With the registry gone, --pull never copies from the store.
	reg.Close()
	other := "oci:" + filepath.Join(dir, "layout") + ":offline"
	if out, errOut, code := kilnImage(t, "--store", store, "--pull", "never", "image", "copy", src, other); code != 0 || strings.TrimSpace(out) != want.String() {
		t.Fatalf("offline copy: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}

	// layout -> archive cannot keep the digest, and says so.
	out, errOut, code = kilnImage(t, "--store", store, "image", "copy", layout, archive)
	if code != 0 {
		t.Fatalf("copy to the archive: exit %d, stderr:\n%s", code, errOut)
	}
	wantNotes := 1
	if strings.TrimSpace(out) == want.String() {
		wantNotes = 0 // Docker media types can survive the round trip
	}
	if n := strings.Count(errOut, "note: the digest changed"); n != wantNotes {
		t.Errorf("want %d notice about the changed digest, got stderr:\n%s", wantNotes, errOut)
	}

	// archive -> layout gets OCI media types, so a new digest, and says so.
	back := "oci:" + filepath.Join(dir, "layout") + ":from-archive"
	out, errOut, code = kilnImage(t, "--store", store, "image", "copy", archive, back)
	if code != 0 || strings.Count(errOut, "note: the digest changed") != 1 || strings.TrimSpace(out) == want.String() {
		t.Errorf("copy from the archive: exit %d, stdout %q, stderr %q; want a new digest and one notice", code, out, errOut)
	}
	archiveRef, err := oci.ParseReference(archive)
	if err != nil {
		t.Fatal(err)
	}
	got, err := oci.Read(ctx, archiveRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("skopeo"); err != nil {
		testutil.Skip(t, "skopeo is not installed (hack/deps.sh installs it)")
	}
	if b, err := exec.Command("skopeo", "inspect", "docker-archive:"+filepath.Join(dir, "stack.tar")).CombinedOutput(); err != nil {
		t.Fatalf("skopeo inspect: %v\n%s", err, b)
	}
}

func TestImageCopyErrors(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad reference", []string{"image", "copy", "UPPER/case", "oci:x"}, "invalid image reference"},
		{"bad pull policy", []string{"--pull", "sometimes", "image", "copy", "a", "oci:x"}, "--pull"},
		{"not in the store", []string{"--pull", "never", "image", "copy", "registry.invalid/a:1", "oci:x"}, "registry.invalid/a:1"},
		{"missing layout", []string{"image", "copy", "oci:/nonexistent/layout:x", "oci:y"}, "/nonexistent/layout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := kilnImage(t, append([]string{"--store", store}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, "ERROR:") || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure mentioning %q", code, errOut, tc.want)
			}
		})
	}
}

func TestDefaultStoreDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/xdg/cache")
	if d, err := defaultStoreDir(); err != nil || d != "/xdg/cache/kiln" {
		t.Errorf("with XDG_CACHE_HOME: %q, %v", d, err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/someone")
	if d, err := defaultStoreDir(); err != nil || d != "/home/someone/.cache/kiln" {
		t.Errorf("without XDG_CACHE_HOME: %q, %v", d, err)
	}
}
