package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/api"
	"github.com/kilnbuild/kiln/lifecycle/appimage"
	"github.com/kilnbuild/kiln/lifecycle/platform"
	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/sandbox"
)

// runLifecyclePhase parses a phase's command line and runs it: the
// Platform API's flags and environment → a platform.BuildRequest →
// platform.Build (creator), platform.RunPhase (the five phases) or an
// appimage.Rebaser (rebaser).
func runLifecyclePhase(phase string, v api.Version, args []string, env map[string]string, stdout, stderr io.Writer) int {
	in := newLifecycleInputs(v, env)
	fs := flag.NewFlagSet("lifecycle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in.flags(phase, fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // flag.ExitOnError's code, as the reference's flag set exits
	}
	if err := in.checkArgs(phase, fs.Args()); err != nil {
		fmt.Fprintf(stderr, "ERROR: failed to parse arguments: %v\n", err)
		return exitInvalidArgs
	}
	if in.useDaemon {
		fmt.Fprintln(stderr, "ERROR: failed to initialize docker client: kiln's lifecycle has no daemon export (-daemon, CNB_USE_DAEMON): "+
			"write to a registry, or to an OCI layout with -layout")
		return exitInvalidArgs
	}
	if err := in.resolvePaths(); err != nil {
		fmt.Fprintf(stderr, "ERROR: failed to resolve inputs: %v\n", err)
		return exitInvalidArgs
	}
	if err := in.unsupported(); err != nil {
		fmt.Fprintf(stderr, "ERROR: failed to resolve inputs: %v\n", err)
		return exitInvalidArgs
	}
	if err := in.privileges(phase); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return exitFailed
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := in.execute(ctx, phase, stdout, stderr)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "ERROR: failed to %s: %v\n", phase, err)
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if c, ok := phaseExitCodes[phase]; ok {
		return c
	}
	return exitFailed
}

// phaseExitCodes are each phase's generic failure (CNB contract §2.7).
var phaseExitCodes = map[string]int{"detect": 22, "analyze": exitAnalyze, "restore": exitRestore, "build": 52,
	"export": exitExport, "rebase": exitRebase}

// orderPath is the order file when it is not the builder's own.
func (in *lifecycleInputs) orderPath() string {
	if in.order == defaultOrderPath {
		return ""
	}
	return in.order
}

// unsupported refuses inputs kiln's lifecycle does not take other than at
// their defaults: it reads the builder where it is, in the image it runs in.
func (in *lifecycleInputs) unsupported() error {
	for _, c := range []struct{ flag, got, want string }{
		{"-buildpacks (CNB_BUILDPACKS_DIR)", in.buildpacks, defaultBuildpacksDir},
		{"-build-config (CNB_BUILD_CONFIG_DIR)", in.buildConfig, defaultBuildConfigDir},
		{"-run (CNB_RUN_PATH)", in.run, defaultRunPath},
		{"-stack (CNB_STACK_PATH)", in.stack, defaultStackPath},
	} {
		if c.got != c.want {
			return fmt.Errorf("%s %s: kiln's lifecycle reads the builder it runs in, %s only", c.flag, c.got, c.want)
		}
	}
	return nil
}

// checkArgs checks the positional arguments: the image for the analyzer
// and creator, the image and more tags for the exporter and rebaser, none
// for the others.
func (in *lifecycleInputs) checkArgs(phase string, args []string) error {
	switch phase {
	case "analyze", "create":
		if len(args) != 1 {
			return fmt.Errorf("received %d arguments, but expected 1", len(args))
		}
	case "export", "rebase":
		if len(args) == 0 {
			return errors.New("at least one image argument is required")
		}
		in.tags = append(in.tags, args[1:]...)
	default:
		if len(args) != 0 {
			return errors.New("received unexpected arguments")
		}
		return nil
	}
	in.output = args[0]
	if in.previousImage == "" {
		in.previousImage = in.output
	}
	return nil
}

// privileges is the reference's Privileges: the detector and builder refuse
// to run as root; the other phases, as root, hand the layers and cache
// directories to the CNB user and become it. Not as root, every phase runs
// as the user it is (an arbitrary pod uid included) and still records the
// CNB user as the owner of what the image holds.
func (in *lifecycleInputs) privileges(phase string) error {
	if os.Getuid() != 0 {
		return nil
	}
	if phase == "detect" || phase == "build" {
		return fmt.Errorf("failed to %s: refusing to run as root", phase)
	}
	if in.uid == 0 && in.gid == 0 {
		return nil
	}
	for _, d := range []string{in.layers, in.cacheDir} {
		if d == "" {
			continue
		}
		if err := chownTreeTo(d, in.uid, in.gid); err != nil {
			return fmt.Errorf("failed to chown volumes: %w", err)
		}
	}
	if err := syscall.Setresgid(in.gid, in.gid, in.gid); err != nil {
		return fmt.Errorf("failed to exec as user %d:%d: %w", in.uid, in.gid, err)
	}
	if err := syscall.Setresuid(in.uid, in.uid, in.uid); err != nil {
		return fmt.Errorf("failed to exec as user %d:%d: %w", in.uid, in.gid, err)
	}
	return nil
}

// chownTreeTo gives dir and what it holds to uid:gid, links not followed.
func chownTreeTo(dir string, uid, gid int) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// execute runs the phase.
func (in *lifecycleInputs) execute(ctx context.Context, phase string, stdout, stderr io.Writer) error {
	work, err := os.MkdirTemp("", "kiln-lifecycle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	store, err := oci.OpenStore(filepath.Join(work, "store"))
	if err != nil {
		return err
	}
	keychain, err := registryAuthKeychain(in.env["CNB_REGISTRY_AUTH"])
	if err != nil {
		return err
	}
	opts := []oci.Option{oci.WithStore(store), oci.WithPullPolicy(oci.PullAlways),
		oci.WithInsecureRegistries(in.insecure...), oci.WithKeychain(keychain)}
	if phase == "rebase" {
		return in.rebase(ctx, opts, stdout)
	}
	req, err := in.buildRequest(work, store, opts, stdout)
	if err != nil {
		return err
	}
	state, err := stateDir()
	if err != nil {
		return err
	}
	sb := &buildSandbox{level: sandbox.LevelNone, network: sandbox.NetworkHost, stateDir: state, logger: in.logger(stderr), out: io.Discard}
	popts := []platform.Option{platform.WithImageReader(in.imageReader(opts)), platform.WithLogger(in.logger(stderr))}
	var res *platform.BuildOutput
	if phase == "create" {
		if res, err = platform.Build(ctx, req, sb, popts...); err != nil {
			return err
		}
	} else {
		files := platform.PhaseFiles{Analyzed: in.analyzed, Group: in.group, Plan: in.plan}
		if res, err = platform.RunPhase(ctx, req, platform.Phase(phase), files, sb, popts...); err != nil {
			return err
		}
	}
	if res.Image == nil {
		return nil
	}
	return in.write(ctx, res.Image, opts, stdout)
}

// logger is the libraries' logger: debug output with -log-level debug.
func (in *lifecycleInputs) logger(stderr io.Writer) *slog.Logger {
	g := &globalFlags{verbose: in.logLevel == lifecycleLogLevelDebug}
	return g.logger(stderr)
}

// buildRequest is the build the phase is part of, in place.
func (in *lifecycleInputs) buildRequest(work string, store *oci.Store, opts []oci.Option, stdout io.Writer) (platform.BuildRequest, error) {
	env := os.Environ()
	// -uid and -gid are the CNB user the image records.
	env = append(env, fmt.Sprintf("CNB_USER_ID=%d", in.uid), fmt.Sprintf("CNB_GROUP_ID=%d", in.gid))
	created, err := sourceDateEpoch()
	if err != nil {
		return platform.BuildRequest{}, err
	}
	if in.api.LessThan("0.9") {
		created = oci.Epoch
	}
	req := platform.BuildRequest{
		AppDir:         in.app,
		InPlace:        &platform.InPlace{Env: env, LayersDir: in.layers, PlatformDir: in.platform, OrderPath: in.orderPath()},
		RunImage:       in.runImageRef(in.runImage),
		PreviousImage:  in.runImageRef(in.previousImage),
		DefaultProcess: in.processType,
		PlatformAPI:    in.api.String(),
		Created:        created,
		Launcher:       func(string) ([]byte, error) { return os.ReadFile(in.launcher) },
		LauncherInfo:   lifecycle.LauncherMetadata{Version: version},
		Store:          store,
		WorkDir:        work,
		SkipLayers:     in.skipLayers,
		Out:            stdout,
		Verbose:        in.logLevel == lifecycleLogLevelDebug,
	}
	if pm, err := lifecycle.ReadProjectMetadata(in.projectMetadata); err != nil {
		return req, err
	} else if pm.Source != nil {
		req.ProjectMetadata = &pm
	}
	switch {
	case in.cacheImage != "":
		ref, err := oci.ParseReference(in.runImageRef(in.cacheImage))
		if err != nil {
			return req, fmt.Errorf("-cache-image: %w", err)
		}
		req.Cache = &lifecycle.Cache{Ref: ref, Options: opts}
	case in.cacheDir != "":
		req.Cache = &lifecycle.Cache{Ref: oci.Reference{Kind: oci.KindLayout, Path: in.cacheDir, Tag: "cache"}, Options: opts, Prune: true}
	default:
		fmt.Fprintln(stdout, "Warning: No cached data will be used, no cache specified.")
	}
	return req, nil
}

// runImageRef is the kiln reference of an image the phases name: a registry
// name, or with -layout its directory under -layout-dir
// (<dir>/<registry>/<repository>/<tag>, or …/<algorithm>/<digest>).
func (in *lifecycleInputs) runImageRef(s string) string {
	if s == "" || !in.useLayout {
		return s
	}
	r, err := name.ParseReference(s, name.WeakValidation)
	if err != nil {
		return s
	}
	dir := filepath.Join(in.layoutDir, r.Context().RegistryStr(), r.Context().RepositoryStr())
	tag := "latest"
	switch t := r.(type) {
	case name.Tag:
		tag = t.TagStr()
		dir = filepath.Join(dir, tag)
	case name.Digest:
		algo, hex, _ := strings.Cut(t.DigestStr(), ":")
		dir = filepath.Join(dir, algo, hex)
	}
	return oci.Reference{Kind: oci.KindLayout, Path: dir, Tag: tag}.String()
}

// imageReader reads images through the store, the previous image as it is
// now and without fetching its layers.
func (in *lifecycleInputs) imageReader(opts []oci.Option) func(ctx context.Context, ref string) (v1.Image, error) {
	return func(ctx context.Context, ref string) (v1.Image, error) {
		r, err := oci.ParseReference(ref)
		if err != nil {
			return nil, err
		}
		return oci.Read(ctx, r, opts...)
	}
}

// write writes the exported or rebased image to the output and the -tag
// names, and report.toml.
func (in *lifecycleInputs) write(ctx context.Context, img v1.Image, opts []oci.Option, stdout io.Writer) error {
	var digest v1.Hash
	for _, n := range append([]string{in.output}, in.tags...) {
		ref, err := oci.ParseReference(in.runImageRef(n))
		if err != nil {
			return &lifecycle.ExportError{Err: err}
		}
		if digest, err = oci.Write(ctx, ref, img, opts...); err != nil {
			return &lifecycle.ExportError{Err: fmt.Errorf("writing %s: %w", n, err)}
		}
		fmt.Fprintf(stdout, "*** Image: %s@%s\n", n, digest)
	}
	size, err := img.Size()
	if err != nil {
		return &lifecycle.ExportError{Err: err}
	}
	r := lifecycle.Report{Image: lifecycle.ImageReport{Tags: append([]string{in.output}, in.tags...), Digest: digest.String(), ManifestSize: size}}
	if err := lifecycle.WriteReport(in.report, r); err != nil {
		return &lifecycle.ExportError{Err: err}
	}
	return nil
}

// rebase is the rebaser: the app image (-previous-image, else the output)
// onto -run-image or the run image it records.
func (in *lifecycleInputs) rebase(ctx context.Context, opts []oci.Option, stdout io.Writer) error {
	read := in.imageReader(opts)
	app, err := read(ctx, in.runImageRef(in.previousImage))
	if err != nil {
		return &appimage.RebaseError{Err: fmt.Errorf("accessing image to rebase: %w", err)}
	}
	r := &appimage.Rebaser{App: app, RunImage: in.runImageRef(in.runImage), Force: in.force,
		ReadImage: read}
	if ref, err := name.ParseReference(in.output, name.WeakValidation); err == nil {
		r.Registry = ref.Context().RegistryStr()
	}
	img, rep, err := r.Run(ctx)
	if err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stdout, "Warning: %s\n", w)
	}
	if err := in.write(ctx, img, opts, stdout); err != nil {
		return &appimage.RebaseError{Err: err}
	}
	return nil
}

// registryAuthKeychain reads CNB_REGISTRY_AUTH (a JSON object from registry
// to Authorization header value, "Basic …" or "Bearer …") before the docker
// config, as the lifecycle does; a value that is not such an object is an
// error, as it is for the lifecycle.
func registryAuthKeychain(raw string) (authn.Keychain, error) {
	if raw == "" {
		return authn.DefaultKeychain, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("parsing CNB_REGISTRY_AUTH (a JSON object from registry to Authorization header value): %w", err)
	}
	return registryAuth(m), nil
}

type registryAuth map[string]string

func (a registryAuth) Resolve(r authn.Resource) (authn.Authenticator, error) {
	h, ok := a[r.RegistryStr()]
	if !ok {
		return authn.DefaultKeychain.Resolve(r)
	}
	scheme, value, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		return authn.FromConfig(authn.AuthConfig{Auth: value}), nil
	case "bearer":
		return authn.FromConfig(authn.AuthConfig{RegistryToken: value}), nil
	}
	return nil, fmt.Errorf("CNB_REGISTRY_AUTH for %s: not a Basic or Bearer header value", r.RegistryStr())
}
