package main

// The attack suite: kiln build, the real CLI path and the real sandbox, with
// hostile buildpacks (issue #11). It runs as root and, in make test's
// rootless pass, as an unprivileged user (cmd/kiln is in
// hack/rootless-packages).
//
// Every row builds an app whose group is made of copies of the fixture in
// testdata/hostile; each copy's bin/detect and bin/build run the shell the
// row gives them, inside the build container, as the CNB user. Before the
// build the suite plants host files the attacker would love to reach (see
// plantVictims): a victim directory holding a canary, a secret, build/ and
// detect/ subdirectories and TOML files of the kinds kiln reads from a
// buildpack's layers dir. The attacker learns their host paths from the
// platform env ($VICTIM, $SECRET), never their contents. Whatever the row,
// the suite then checks that
//   - the victim directory and the app source are byte for byte, owner and
//     mode what they were (snapshotTree);
//   - the secret's content reaches neither kiln's output nor, when the build
//     succeeds, any layer or the config of the image;
//   - kiln ended before the row's deadline (on the deadline it gets SIGTERM,
//     and must then exit within termGrace), with the row's exit code and
//     messages;
//   - no process the build started is left running.
//
// Adding a row is a few lines in attacks below: a name, the shell for
// bin/build (or bin/detect), and the outcome. In the scripts, $1… are the
// CNB arguments (bin/detect: platform dir, plan file; bin/build: layers dir,
// platform dir, plan file); /layers, /workspace and /platform are where
// they are in any build; $VICTIM and $SECRET are host paths; $KILN_ATTACK_PASS
// is the build's number when the row builds several times (passes). For
// example:
//
//	{
//		name:  "launch.toml is a symlink to a host file",
//		build: `ln -s "$VICTIM/launch.toml" "$1/launch.toml"`,
//		code:  62, says: []string{"hostile/attacker", "launch.toml"},
//	},
//
// A row whose attack involves several buildpacks lists them in group (each
// is a copy of the fixture with its own id and scripts). A build that
// should succeed leaves code 0; image then checks the image further.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/treecopy"
)

// attack is one row of the suite.
type attack struct {
	name string
	// detect and build are the shell run by bin/detect and bin/build of the
	// attacker, hostile/attacker, the only buildpack of the group unless
	// group is set.
	detect, build string
	// group replaces the one-attacker group: the buildpacks in order.
	group []hostileBuildpack
	// passes is how many times the app is built, one after the other with
	// the same cache (default 1), for attacks on restore. Every pass but the
	// last must succeed; code and says are about the last.
	passes int
	// args are more kiln build arguments.
	args []string
	// code is kiln's expected exit code: 0 for an attack that is contained
	// (the build goes on), else the failure it must cause.
	code int
	// says are strings kiln's output must contain: the clear error naming
	// the buildpack and the file, or the warning.
	says []string
	// refused are the other contained endings of a race whose moment
	// decides the outcome: clear refusals, each with its exit code and
	// strings (a daemon killed between its two renames leaves its symlink
	// in place, which kiln then refuses to read or export).
	refused []attackEnd
	// image, when set, checks the image of a successful build further.
	image func(t *testing.T, img v1.Image)
	// deadline is how long each build may take (default defaultDeadline);
	// past it kiln gets SIGTERM and the row fails.
	deadline time.Duration
	// tool puts this test binary into the attacker as attack/tool (see
	// attack_tool_test.go), for attacks a shell cannot do.
	tool bool
	// sigterm, when set, is a line of kiln's output on which kiln gets
	// SIGTERM (of the last pass): it must then exit within termGrace with
	// code, leaving no process behind.
	sigterm string
	// The image and output side (rows in attack_oci_test.go): buildImage
	// returns the build image the builder names instead of the stack's (a
	// hostile image); output returns the destination instead of
	// oci:DIR/out:app; between runs after every pass but the last; after
	// runs once the suite's checks are done, whatever the exit code.
	buildImage func(t *testing.T, e buildEnvDir, dir string) string
	output     func(t *testing.T, dir string) string
	between    func(t *testing.T, dir string, pass int)
	after      func(t *testing.T, e buildEnvDir, dir string)
}

// attackEnd is how a build ends: its exit code and what its output says.
type attackEnd struct {
	code int
	says []string
}

// hostileBuildpack is one copy of the fixture in a row's group.
type hostileBuildpack struct {
	id            string // default "hostile/attacker"
	detect, build string
	tool          bool
}

const (
	defaultDeadline = 2 * time.Minute
	// termGrace is how long kiln has to exit after SIGTERM.
	termGrace = 10 * time.Second
)

// attacks are the rows. Keep each to a few lines; say in the name what the
// attacker does.
var attacks = []attack{
	{
		name: "control: the fixture without an attack builds",
		image: func(t *testing.T, img v1.Image) {
			if _, err := img.Digest(); err != nil {
				t.Error(err)
			}
		},
	},
	{
		name:   "detect replaces its plan file with a symlink to a host secret",
		detect: `rm -f "$2"; ln -s "$SECRET" "$2"`,
		code:   21, says: []string{"hostile/attacker"},
	},
	{
		// The phase boundary: the daemon dies when detect ends, before
		// the host restores (pass 2 restores the cached layer it swaps).
		name:   "a setsid daemon of bin/detect swaps layer directories with host symlinks (RENAME_EXCHANGE) during restore and build",
		detect: `setsid "$here/attack/tool" ` + attackSwapper + ` /layers/hostile_attacker "$VICTIM" </dev/null >/dev/null 2>&1 &`,
		build: `touch "$1/build-started"; mkdir -p "$1/cached"; echo data > "$1/cached/f"
printf '[types]\ncache = true\n' > "$1/cached.toml"
sleep 1
if [ -e "$1/daemon-saw-build" ]; then echo "a daemon of detect runs in build"; exit 1; fi`,
		tool: true, passes: 2,
	},
	{
		// The daemon dies when build ends, before the host exports.
		name: "a setsid daemon of bin/build swaps launch layer directories with host symlinks (RENAME_EXCHANGE) during export",
		build: `mkdir -p "$1/evil"; echo data > "$1/evil/f"; printf '[types]\nlaunch = true\n' > "$1/evil.toml"
setsid "$here/attack/tool" ` + attackSwapper + ` "$1" "$VICTIM/evil" $$ </dev/null >/dev/null 2>&1 &
sleep 0.2`,
		// Had it outlived the build container, it would outlive kiln: the
		// suite finds no process left. Killed between its two renames, it
		// leaves evil.toml or evil a symlink, which kiln refuses to read
		// (at the end of build) or to export.
		tool: true,
		refused: []attackEnd{
			{code: 52, says: []string{"hostile/attacker", "/layers/hostile_attacker/evil", "symbolic link"}},
			{code: 62, says: []string{"hostile/attacker:evil", "/layers/hostile_attacker/evil", "symbolic link"}},
		},
	},
	{
		name: "kiln gets SIGTERM mid-build while daemons run: it exits at once and leaves nothing",
		build: `setsid sleep 1000 </dev/null >/dev/null 2>&1 &
(sleep 1000 </dev/null >/dev/null 2>&1 &)
echo "attack: waiting for SIGTERM"; sleep 1000`,
		sigterm: "attack: waiting for SIGTERM", code: 51, says: []string{"hostile/attacker", "context canceled"},
	},
	{
		name: "a launch layer directory is a symlink to a host directory",
		build: `ln -s "$VICTIM/evil" "$1/evil"
printf '[types]\nlaunch = true\n' > "$1/evil.toml"`,
		code: 52, says: []string{"hostile/attacker", "/layers/hostile_attacker/evil", "symbolic link"},
	},

	// kiln's bookkeeping. It once lived in /layers/.kiln, where kiln then
	// deleted <target>/detect and <target>/build and created and chowned
	// <target>/<buildpack>: it is now a mount of kiln's own (/tmp/kiln),
	// used through directory handles.
	{
		name:   "detect replaces /layers/.kiln with a symlink to a host dir",
		detect: `mv /layers/.kiln /layers/.kiln-old 2>/dev/null || true; ln -s "$VICTIM" /layers/.kiln`,
	},
	{
		name:  "build replaces /layers/.kiln with a symlink to a host dir",
		build: `rm -rf /layers/.kiln; ln -s "$VICTIM" /layers/.kiln`,
	},
	{
		name: "detect and build replace the scratch dirs with symlinks to a host dir",
		// As root the scratch root is kiln's (0755): the renames fail; rootless
		// they succeed, and handles keep kiln in its own directories.
		detect: `mv "$(dirname "$(dirname "$2")")" /tmp/kiln/old-detect 2>/dev/null && ln -s "$VICTIM" /tmp/kiln/detect || true
mv "$(dirname "$2")" /tmp/kiln/old-plan 2>/dev/null && ln -s "$VICTIM" "$(dirname "$2")" || true`,
		build: `mv "$(dirname "$3")" /tmp/kiln/old-plan 2>/dev/null && ln -s "$VICTIM" "$(dirname "$3")" || true
mv /tmp/kiln/build /tmp/kiln/old-build 2>/dev/null && ln -s "$VICTIM" /tmp/kiln/build || true`,
	},

	// The buildpack's own layers dir replaced by a symlink to a host dir:
	// kiln read that dir's launch.toml, store.toml and <layer>.toml, whose
	// labels and commands reached the image.
	{
		name:  "build replaces /layers/<id> with a symlink to a host dir",
		build: `cd /layers && mv hostile_attacker moved && ln -s "$VICTIM" hostile_attacker`,
		code:  52, says: []string{"hostile/attacker", "/layers/hostile_attacker", "symbolic link"},
	},
	{
		name:  "launch.toml is a symlink to a host file",
		build: `ln -s "$VICTIM/launch.toml" "$1/launch.toml"`,
		code:  52, says: []string{"hostile/attacker", "/layers/hostile_attacker/launch.toml", "symbolic link"},
	},
	{
		name:  "<layer>.toml is a symlink to a host file",
		build: `mkdir "$1/evil"; ln -s "$VICTIM/evil.toml" "$1/evil.toml"`,
		code:  52, says: []string{"hostile/attacker", "/layers/hostile_attacker/evil.toml", "symbolic link"},
	},
	{
		name: "an earlier buildpack plants a symlink where a later one's layers dir goes",
		group: []hostileBuildpack{
			{id: "hostile/attacker", build: `ln -s "$VICTIM" /layers/hostile_victim`},
			{id: "hostile/victim"},
		},
		code: 52, says: []string{"hostile/victim", "/layers/hostile_victim", "symbolic link"},
	},
	{
		name:  "/layers/sbom and /layers/config are symlinks to a host dir",
		build: `ln -s "$VICTIM" /layers/config; ln -s "$VICTIM" /layers/sbom`,
		code:  52, says: []string{"/layers/config", "symbolic link"},
	},

	// FIFOs where kiln reads TOML hung kiln for ever (and it then ignored
	// SIGTERM): files are opened O_NONBLOCK and must be regular.
	{
		name:     "launch.toml is a FIFO",
		build:    `mkfifo "$1/launch.toml"`,
		deadline: 30 * time.Second,
		code:     52, says: []string{"hostile/attacker", "/layers/hostile_attacker/launch.toml", "named pipe"},
	},
	{
		name:     "<layer>.toml is a FIFO",
		build:    `mkfifo "$1/evil.toml"`,
		deadline: 30 * time.Second,
		code:     52, says: []string{"hostile/attacker", "/layers/hostile_attacker/evil.toml", "named pipe"},
	},
	{
		name:     "store.toml and build.toml are FIFOs",
		build:    `mkfifo "$1/store.toml" "$1/build.toml"`,
		deadline: 30 * time.Second,
		code:     52, says: []string{"hostile/attacker", "/layers/hostile_attacker/build.toml", "named pipe"},
	},
	{
		name:     "the detect plan file is a FIFO",
		detect:   `rm -f "$2"; mkfifo "$2"`,
		deadline: 30 * time.Second,
		code:     21, says: []string{"hostile/attacker", "plan.toml", "named pipe"},
	},
	{
		name:     "an env file of a build layer is a FIFO",
		group:    []hostileBuildpack{{id: "hostile/attacker", build: buildLayer + `mkfifo "$1/tools/env.build/X.override"`}, {id: "hostile/next"}},
		deadline: 30 * time.Second,
		code:     52, says: []string{"hostile/attacker", "/layers/hostile_attacker/tools/env.build/X.override", "named pipe"},
	},

	// Layer names: "..toml" and "...toml" made layers "." and "..";
	// layer ".." exported all of /layers, another buildpack's build-only
	// secret included.
	{
		name:  "a ..toml file names a layer \".\"",
		build: `printf '[types]\nlaunch = true\n' > "$1/..toml"`,
		code:  52, says: []string{"hostile/attacker", "/layers/hostile_attacker/..toml", "not a layer name"},
	},
	{
		name: "a ...toml file names a layer \"..\" to export another buildpack's build-only secret",
		group: []hostileBuildpack{
			{id: "hostile/holder", build: `mkdir -p "$1/secret"; echo "build-only $KILN_ATTACK_MARK" > "$1/secret/key"
printf '[types]\nbuild = true\n' > "$1/secret.toml"`},
			{id: "hostile/attacker", build: `printf '[types]\nlaunch = true\n' > "$1/...toml"`},
		},
		code: 52, says: []string{"hostile/attacker", "/layers/hostile_attacker/...toml", "not a layer name"},
	},

	// Env directories: a subdirectory in env.build/ silently dropped every
	// later variable. It is skipped (with a warning) and the rest applies.
	{
		name: "a subdirectory inside env.build/ does not drop later variables",
		group: []hostileBuildpack{
			{id: "hostile/attacker", build: buildLayer + `printf a > "$1/tools/env.build/A.override"
mkdir "$1/tools/env.build/B"
printf c > "$1/tools/env.build/C.override"`},
			{id: "hostile/checker", build: `[ "$A" = a ] && [ "$C" = c ] || { echo "A=$A C=$C: variables dropped"; exit 1; }`},
		},
		args: []string{"--verbose"},
		says: []string{"skipping a directory in an env dir", "/layers/hostile_attacker/tools/env.build/B"},
	},

	// Restore: the second build gets the first one's cache back, through
	// handles, whatever detect planted in /layers before the restore.
	{
		name:   "detect replaces /layers/<id> with a symlink to a host dir before the restore",
		passes: 2, build: cacheLayer,
		detect: `if [ "$KILN_ATTACK_PASS" = 2 ]; then ln -s "$VICTIM" /layers/hostile_attacker; fi`,
		code:   1, says: []string{"hostile/attacker", "/layers/hostile_attacker", "symbolic link"},
	},
	{
		name:   "detect plants a symlink to a host dir where a cached layer is restored",
		passes: 2, build: cacheLayer,
		detect: `if [ "$KILN_ATTACK_PASS" = 2 ]; then mkdir -p /layers/hostile_attacker; ln -s "$VICTIM" /layers/hostile_attacker/cached; fi`,
		says:   []string{`Restoring data for "hostile/attacker:cached" from cache`},
	},
	{
		name:   "a cached layer holds symlinks to host files and dirs",
		passes: 2, build: cacheLayer + `ln -sfn "$SECRET" "$1/cached/secret"; ln -sfn "$VICTIM" "$1/cached/victim"`,
		says: []string{`Restoring data for "hostile/attacker:cached" from cache`},
	},
}

// cacheLayer is shell for bin/build making a cache=true launch layer
// "cached".
const cacheLayer = `mkdir -p "$1/cached"; echo data > "$1/cached/data"
printf '[types]\ncache = true\nlaunch = true\n' > "$1/cached.toml"
`

// buildLayer is shell for bin/build making a build=true layer "tools" with
// an env.build/ dir.
const buildLayer = `mkdir -p "$1/tools/env.build"
printf '[types]\nbuild = true\n' > "$1/tools.toml"
`

func TestAttacks(t *testing.T) {
	e := newBuildEnv(t)
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) { runAttack(t, e, a) })
	}
}

// runAttack runs one row in its own directory next to e's stack and store.
func runAttack(t *testing.T, e buildEnvDir, a attack) {
	dir := t.TempDir()
	token := randomToken(t)
	victim := plantVictims(t, filepath.Join(dir, "victim"), token)
	app := filepath.Join(dir, "app")
	if err := treecopy.Copy(context.Background(), e.app, app, nil); err != nil {
		t.Fatal(err)
	}
	buildImage := "oci:stack:build"
	if a.buildImage != nil {
		buildImage = a.buildImage(t, e, dir)
	}
	builder := writeHostileBuilder(t, dir, a, buildImage)
	output := "oci:" + filepath.Join(dir, "out") + ":app"
	if a.output != nil {
		output = a.output(t, dir)
	}
	guarded := map[string]map[string]string{victim: snapshotTree(t, victim), app: snapshotTree(t, app)}

	passes := max(a.passes, 1)
	mark := "KILN_ATTACK_MARK=" + token
	var out string
	var code int
	for pass := 1; pass <= passes; pass++ {
		args := []string{"--store", e.store, "build", output,
			"--builder", builder, "--path", app,
			"--env", "VICTIM=" + victim, "--env", "SECRET=" + filepath.Join(victim, "secret"),
			"--env", fmt.Sprintf("KILN_ATTACK_PASS=%d", pass), "--env", mark}
		sigterm := ""
		if pass == passes {
			sigterm = a.sigterm
		}
		out, code = kilnWithDeadline(t, e.dir, orDuration(a.deadline, defaultDeadline), sigterm, append(args, a.args...)...)
		if left := processesWithEnv(mark, 10*time.Second); len(left) > 0 {
			t.Errorf("pass %d: processes of the build left running: %v", pass, left)
		}
		if pass < passes && code != 0 {
			t.Fatalf("pass %d of %d: exit %d, want 0\n%s", pass, passes, code, out)
		}
		if pass < passes && a.between != nil {
			a.between(t, dir, pass)
		}
	}
	says, ended := a.says, code == a.code
	for _, r := range a.refused {
		if !ended && code == r.code {
			says, ended = r.says, true
		}
	}
	if !ended {
		t.Errorf("exit %d, want %d (or a refusal of %+v)\n%s", code, a.code, a.refused, out)
	}
	for _, s := range says {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, token) {
		t.Errorf("the host secret reached kiln's output:\n%s", out)
	}
	for root, before := range guarded {
		if diff := cmp.Diff(before, snapshotTree(t, root)); diff != "" {
			t.Errorf("the build changed host files under %s (-before +after):\n%s", root, diff)
		}
	}
	if a.after != nil {
		a.after(t, e, dir)
	}
	if code != 0 {
		return
	}
	img := readImage(t, output)
	if where := findInImage(t, img, token); where != "" {
		t.Errorf("the host secret reached the image: %s", where)
	}
	if a.image != nil {
		a.image(t, img)
	}
}

// kilnWithDeadline runs kiln as its own process in dir and returns its
// output (stdout and stderr together) and exit code. Past the deadline it
// sends SIGTERM and fails the test, also when kiln ignores the signal.
// When sigterm is set, kiln gets SIGTERM as soon as its output has that
// line, and must exit within termGrace.
func kilnWithDeadline(t *testing.T, dir string, deadline time.Duration, sigterm string, args ...string) (string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runAsKilnEnv+"=1")
	var out lockedOutput
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	termed := make(chan struct{})
	if sigterm != "" {
		go func() {
			for !strings.Contains(out.String(), sigterm+"\n") {
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			cmd.Process.Signal(syscall.SIGTERM)
			close(termed)
		}()
	}
	select {
	case err = <-done:
	case <-termed:
		select {
		case err = <-done:
		case <-time.After(termGrace):
			t.Errorf("kiln ignored SIGTERM for %v: killing it", termGrace)
			cmd.Process.Kill()
			err = <-done
		}
	case <-time.After(deadline):
		t.Errorf("kiln did not finish within %v: sending SIGTERM", deadline)
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(termGrace):
			t.Errorf("kiln ignored SIGTERM for %v: killing it", termGrace)
			cmd.Process.Kill()
			err = <-done
		}
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

// lockedOutput collects a process's stdout and stderr.
type lockedOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *lockedOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *lockedOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// writeHostileBuilder lays out the row's buildpacks (copies of
// testdata/hostile) and a builder.toml naming them in one group.
func writeHostileBuilder(t *testing.T, dir string, a attack, buildImage string) string {
	t.Helper()
	group := a.group
	if len(group) == 0 {
		group = []hostileBuildpack{{detect: a.detect, build: a.build, tool: a.tool}}
	}
	var b strings.Builder
	var order strings.Builder
	for i, bp := range group {
		id := bp.id
		if id == "" {
			id = "hostile/attacker"
		}
		bpDir := filepath.Join(dir, "buildpacks", fmt.Sprint(i))
		if err := treecopy.Copy(context.Background(), filepath.Join(pkgDir, "testdata", "hostile"), bpDir, nil); err != nil {
			t.Fatal(err)
		}
		desc, err := os.ReadFile(filepath.Join(bpDir, "buildpack.toml"))
		if err != nil {
			t.Fatal(err)
		}
		desc = bytes.Replace(desc, []byte(`id = "hostile/attacker"`), []byte(fmt.Sprintf("id = %q", id)), 1)
		writeTestFile(t, filepath.Join(bpDir, "buildpack.toml"), string(desc), 0o644)
		for name, script := range map[string]string{"detect.sh": bp.detect, "build.sh": bp.build} {
			if script != "" {
				writeTestFile(t, filepath.Join(bpDir, "attack", name), script+"\n", 0o644)
			}
		}
		if bp.tool {
			self, err := os.ReadFile("/proc/self/exe") // a static binary: it runs in the build image
			if err != nil {
				t.Fatal(err)
			}
			writeTestFile(t, filepath.Join(bpDir, "attack", "tool"), string(self), 0o755)
		}
		fmt.Fprintf(&b, "[[buildpacks]]\nuri = %q\n\n", bpDir)
		fmt.Fprintf(&order, "  [[order.group]]\n  id = %q\n", id)
	}
	b.WriteString("[[order]]\n" + order.String())
	b.WriteString("\n[stack]\nid = \"io.github.future-architect.samples.debian\"\n" +
		"build-image = \"" + buildImage + "\"\nrun-image = \"oci:stack:run\"\n")
	p := filepath.Join(dir, "builder.toml")
	writeTestFile(t, p, b.String(), 0o644)
	return p
}

// plantVictims creates the host files of a row in dir and returns dir: what
// an attacker who can make kiln follow a path would go for. token is the
// secret's content; it is also hidden in every file below, so that any of
// them reaching the image or the output shows.
func plantVictims(t *testing.T, dir, token string) string {
	t.Helper()
	files := []struct {
		name, content string
		mode          fs.FileMode
	}{
		{"canary", "canary " + token + "\n", 0o644},
		{"secret", token + "\n", 0o600},
		{"build/keep", token + "\n", 0o640},
		{"detect/keep", token + "\n", 0o640},
		{"launch.toml", "[[labels]]\nkey = \"attack.host\"\nvalue = \"" + token + "\"\n\n" +
			"[[processes]]\ntype = \"web\"\ncommand = [\"/" + token + "\"]\ndefault = true\n", 0o644},
		{"store.toml", "[metadata]\nhost = \"" + token + "\"\n", 0o644},
		{"build.toml", "[[bom]]\nname = \"" + token + "\"\n", 0o644},
		{"evil.toml", "[types]\nlaunch = true\nbuild = true\ncache = true\n\n[metadata]\nhost = \"" + token + "\"\n", 0o644},
		{"evil/data", token + "\n", 0o600},
		{"env/PATH", "/" + token, 0o644},
	}
	for _, f := range files {
		writeTestFile(t, filepath.Join(dir, f.name), f.content, f.mode)
	}
	for _, d := range []struct {
		name string
		mode fs.FileMode
	}{{"build", 0o750}, {"detect", 0o700}, {"evil", 0o700}, {"env", 0o755}, {".", 0o750}} {
		if err := os.Chmod(filepath.Join(dir, d.name), d.mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// writeTestFile writes a file with exactly mode, creating its directory.
func writeTestFile(t *testing.T, p, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// snapshotTree describes every entry below root (root included) by type,
// mode, owner, size, content digest or link target, without following
// symlinks: two equal snapshots mean an untouched tree.
func snapshotTree(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += fmt.Sprintf(" %d bytes sha256:%x", len(b), sum)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		rel, _ := filepath.Rel(root, p)
		snap[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshotting %s: %v", root, err)
	}
	return snap
}

// findInImage says where in img (config or a layer entry) token occurs, or
// "" when it occurs nowhere.
func findInImage(t *testing.T, img v1.Image, token string) string {
	t.Helper()
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cfg, []byte(token)) {
		return "the config"
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		where, err := findInTar(rc, token)
		rc.Close()
		if err != nil {
			t.Fatalf("reading layer %d: %v", i, err)
		}
		if where != "" {
			return fmt.Sprintf("layer %d, %s", i, where)
		}
	}
	return ""
}

// findInTar returns the name of the first entry of the tar whose name, link
// target or content holds token.
func findInTar(r io.Reader, token string) (string, error) {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return "", nil
		} else if err != nil {
			return "", err
		}
		if strings.Contains(hdr.Name, token) || strings.Contains(hdr.Linkname, token) {
			return hdr.Name, nil
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return "", err
		}
		if bytes.Contains(b, []byte(token)) {
			return hdr.Name, nil
		}
	}
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "kiln-secret-" + hex.EncodeToString(b)
}

func orDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// TestAttackSnapshot proves the suite's eyes work: snapshotTree sees a
// changed content, mode, a removed and an added entry, and findInTar a
// token in a name or a content.
func TestAttackSnapshot(t *testing.T) {
	dir := plantVictims(t, filepath.Join(t.TempDir(), "victim"), "tok")
	base := snapshotTree(t, dir)
	for name, change := range map[string]func(){
		"content": func() { os.WriteFile(filepath.Join(dir, "canary"), []byte("changed\n"), 0o644) },
		"mode":    func() { os.Chmod(filepath.Join(dir, "secret"), 0o644) },
		"removed": func() { os.RemoveAll(filepath.Join(dir, "build")) },
		"added":   func() { os.Mkdir(filepath.Join(dir, "hostile_attacker"), 0o755) },
	} {
		change()
		if cmp.Equal(base, snapshotTree(t, dir)) {
			t.Errorf("snapshotTree missed a change of %s", name)
		}
		os.RemoveAll(dir)
		plantVictims(t, dir, "tok")
		if !cmp.Equal(base, snapshotTree(t, dir)) {
			t.Fatalf("planting the victims twice gave different trees")
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range []struct{ name, body string }{{"a", "nothing"}, {"b", "xx tok xx"}} {
		tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body))})
		tw.Write([]byte(e.body))
	}
	tw.Close()
	if where, err := findInTar(&buf, "tok"); err != nil || where != "b" {
		t.Errorf("findInTar = %q, %v; want b", where, err)
	}
}
