package sandbox_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
	"github.com/kilnbuild/kiln/sandbox"
)

// The benchmarks run /bin/true (busybox) several ways; hack/bench.d/sandbox.sh
// prints their ratios:
//   - BenchmarkProcess: one container, a process per iteration (a phase
//     running its buildpacks: the init forks and execs);
//   - BenchmarkContainer: a fresh container per iteration;
//   - BenchmarkProcessNone, BenchmarkContainerNone: the same at LevelNone
//     (the host's /bin/true, on the host's root);
//   - BenchmarkUnshareFloor: `unshare … --fork chroot ROOTFS /bin/true`,
//     the least any namespace sandbox costs.

var trueProcess = sandbox.Process{Args: []string{"/bin/true"}, UID: cnbUID, GID: cnbGID}

func BenchmarkProcess(b *testing.B) {
	benchProcess(b, sandbox.Config{Rootfs: busyboxRootfs(b), StateDir: stateDir(b), UID: cnbUID, GID: cnbGID})
}

func BenchmarkContainer(b *testing.B) {
	benchContainer(b, sandbox.Config{Rootfs: busyboxRootfs(b), StateDir: stateDir(b)})
}

func BenchmarkProcessNone(b *testing.B) { benchProcess(b, noneConfig()) }

func BenchmarkContainerNone(b *testing.B) { benchContainer(b, noneConfig()) }

// benchProcess times trueProcess run in one container started with cfg.
func benchProcess(b *testing.B, cfg sandbox.Config) {
	c, err := sandbox.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for b.Loop() {
		if code, err := c.Run(ctx, trueProcess); code != 0 || err != nil {
			b.Fatal(code, err)
		}
	}
}

// benchContainer times a fresh container of cfg running trueProcess.
func benchContainer(b *testing.B, cfg sandbox.Config) {
	ctx := context.Background()
	for b.Loop() {
		if code, err := sandbox.Run(ctx, cfg, trueProcess); code != 0 || err != nil {
			b.Fatal(code, err)
		}
	}
}

func BenchmarkUnshareFloor(b *testing.B) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		testutil.Skip(b, "unshare (util-linux) is not installed")
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		chroot = "/usr/sbin/chroot" // not on an ordinary user's PATH
	}
	rootfs := busyboxRootfs(b)
	args := []string{"-Urmpiu", "--fork", chroot, rootfs, "/bin/true"}
	if os.Geteuid() == 0 {
		args = []string{"-mpiu", "--fork", chroot, rootfs, "/bin/true"}
	}
	for b.Loop() {
		if out, err := exec.Command(unshare, args...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}
