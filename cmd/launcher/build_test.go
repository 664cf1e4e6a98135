package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// BuildFlags are the flags hack/build.sh builds the embedded launcher with
// (with CGO_ENABLED=0): reproducible and stripped.
var buildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid="}

// maxSize is the reference lifecycle's guard on its launcher: the launcher is
// copied into every image, so it must stay small.
const maxSize = 4 << 20

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// launcherBinary builds cmd/launcher once per test run, as hack/build.sh
// does, for the host's architecture.
func launcherBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "kiln-launcher-test-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "launcher")
		args := append([]string{"build"}, buildFlags...)
		cmd := exec.Command(goTool(), append(args, "-o", built.path, ".")...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=")
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("building the launcher: %v\n%s", built.err, built.out)
	}
	return built.path
}

// goTool finds the go command of the toolchain running the tests.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.path != "" {
		os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}

// TestLauncherSizeAndStatic guards what makes the launcher fit any run
// image: a static binary (no program interpreter, so no libc needed) of
// less than 4 MB.
func TestLauncherSizeAndStatic(t *testing.T) {
	path := launcherBinary(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= maxSize {
		t.Errorf("launcher is %d bytes, want < %d", fi.Size(), maxSize)
	}
	t.Logf("launcher: %d bytes", fi.Size())
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("launcher has a PT_INTERP program header: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("launcher needs shared libraries %v", libs)
	}
}
