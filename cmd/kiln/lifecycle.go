package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// kiln is also the lifecycle inside the builders it makes: /cnb/lifecycle/
// lifecycle is the kiln binary and creator, analyzer, detector, restorer,
// builder, exporter and rebaser are links to it, dispatched on argv[0] with
// the reference lifecycle's flags, environment, files and exit codes
// (docs/lifecycle.md has the conformance table). This file is the flag and
// environment half (platform/lifecycle_inputs.go and cmd/lifecycle/cli of
// the reference); lifecycle_phases.go turns them into library calls.

// lifecyclePhases are the phase binaries kiln answers to, by the name
// argv[0] gives (the reference's multi-call dispatch).
var lifecyclePhases = map[string]string{
	"analyzer": "analyze", "detector": "detect", "restorer": "restore", "builder": "build",
	"exporter": "export", "creator": "create", "rebaser": "rebase",
}

// lifecycleSubcommands are `lifecycle <phase>`'s names.
var lifecycleSubcommands = map[string]string{
	"analyze": "analyze", "detect": "detect", "restore": "restore", "build": "build",
	"export": "export", "create": "create", "rebase": "rebase",
}

// Exit codes of the Platform API (CNB contract §2.7) the command line
// itself produces; the phases' own come from their errors' ExitCode.
const (
	exitFailed              = 1
	exitInvalidArgs         = 3
	exitPlatformAPI         = 11
	exitAnalyze             = 32
	exitRestore             = 42
	exitExport              = 62
	exitRebase              = 72
	lifecycleLinkTarget     = "lifecycle"
	defaultLauncherPath     = "/cnb/lifecycle/launcher"
	defaultPlatformDir      = "/platform"
	defaultLayersDir        = "/layers"
	defaultAppDir           = "/workspace"
	defaultBuildpacksDir    = "/cnb/buildpacks"
	defaultBuildConfigDir   = "/cnb/build-config"
	defaultRunPath          = "/cnb/run.toml"
	defaultStackPath        = "/cnb/stack.toml"
	defaultOrderPath        = "/cnb/order.toml"
	placeholderLayers       = "<layers>"
	envPlatformAPI          = "CNB_PLATFORM_API"
	lifecycleLogLevelDebug  = "debug"
	lifecycleVersionFlagArg = "-version"
)

// lifecycleMain runs argv as a lifecycle phase when argv[0] names one (or
// is "lifecycle" with a phase argument), and reports whether it did; it
// returns the exit code.
func lifecycleMain(argv []string, stdout, stderr io.Writer, environ []string) (int, bool) {
	if len(argv) == 0 {
		return 0, false
	}
	name := strings.TrimSuffix(filepath.Base(argv[0]), ".exe")
	phase, ok := lifecyclePhases[name]
	args := argv[1:]
	if !ok {
		if name != lifecycleLinkTarget {
			return 0, false
		}
		if len(args) == 0 {
			fmt.Fprintln(stderr, "ERROR: failed to parse arguments")
			return exitInvalidArgs, true
		}
		if args[0] == lifecycleVersionFlagArg {
			fmt.Fprintln(stdout, version)
			return 0, true
		}
		if phase, ok = lifecycleSubcommands[filepath.Base(args[0])]; !ok {
			fmt.Fprintf(stderr, "ERROR: failed to recognize phase: %s\nValid phases: detect, analyze, restore, build, export, rebase, create\n", args[0])
			return exitInvalidArgs, true
		}
		args = args[1:]
	}
	env := envMap(environ)
	v, err := platformAPI(env[envPlatformAPI])
	if err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return exitPlatformAPI, true
	}
	return runLifecyclePhase(phase, v, args, env, stdout, stderr), true
}

// platformAPI is the CNB_PLATFORM_API handshake: required (lifecycle ≥0.18
// has no default), and one of the versions kiln implements.
func platformAPI(s string) (api.Version, error) {
	if strings.TrimSpace(s) == "" {
		return api.Version{}, fmt.Errorf("failed to get platform API version; please set '%s' to specify the desired platform API version", envPlatformAPI)
	}
	v, err := api.Parse(s)
	if err != nil {
		return api.Version{}, fmt.Errorf("failed to parse platform API '%s'", s)
	}
	if !api.Platform.Contains(v) {
		return api.Version{}, fmt.Errorf("failed to set platform API: platform API version '%s' is incompatible with the lifecycle (kiln %s implements %s)",
			s, version, api.Platform)
	}
	return v, nil
}

func envMap(environ []string) map[string]string {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// lifecycleInputs are every phase's inputs, as the reference's
// LifecycleInputs: the environment or the defaults first, flags over them.
type lifecycleInputs struct {
	api                                                               api.Version
	app, layers, platform, buildpacks, buildConfig, extensions        string
	order, group, plan, analyzed, report, projectMetadata, run, stack string
	generated, extended, launcher, launcherSBOM, launchCache, system  string
	cacheDir, cacheImage, previousImage, runImage, buildImage         string
	processType, logLevel, layoutDir, execEnv                         string
	uid, gid                                                          int
	skipLayers, useDaemon, useLayout, noColor, parallel, force        bool
	tags, insecure                                                    stringList
	output                                                            string
	env                                                               map[string]string
}

// newLifecycleInputs reads the environment, with the reference's defaults.
func newLifecycleInputs(v api.Version, env map[string]string) *lifecycleInputs {
	or := func(k, def string) string {
		if e := env[k]; e != "" {
			return e
		}
		return def
	}
	boolEnv := func(k string) bool { b, _ := strconv.ParseBool(env[k]); return b }
	intEnv := func(k string) int { n, _ := strconv.Atoi(env[k]); return n }
	in := &lifecycleInputs{
		api: v, env: env,
		logLevel:        or("CNB_LOG_LEVEL", "info"),
		noColor:         boolEnv("CNB_NO_COLOR"),
		useDaemon:       boolEnv("CNB_USE_DAEMON"),
		useLayout:       boolEnv("CNB_USE_LAYOUT"),
		layoutDir:       env["CNB_LAYOUT_DIR"],
		uid:             intEnv("CNB_USER_ID"),
		gid:             intEnv("CNB_GROUP_ID"),
		buildConfig:     or("CNB_BUILD_CONFIG_DIR", defaultBuildConfigDir),
		buildpacks:      or("CNB_BUILDPACKS_DIR", defaultBuildpacksDir),
		extensions:      or("CNB_EXTENSIONS_DIR", "/cnb/extensions"),
		run:             or("CNB_RUN_PATH", defaultRunPath),
		stack:           or("CNB_STACK_PATH", defaultStackPath),
		system:          or("CNB_SYSTEM_PATH", "/cnb/system.toml"),
		app:             or("CNB_APP_DIR", defaultAppDir),
		execEnv:         or("CNB_EXEC_ENV", "production"),
		layers:          or("CNB_LAYERS_DIR", defaultLayersDir),
		order:           or("CNB_ORDER_PATH", placeholderLayers+"/order.toml"),
		platform:        or("CNB_PLATFORM_DIR", defaultPlatformDir),
		analyzed:        or("CNB_ANALYZED_PATH", placeholderLayers+"/analyzed.toml"),
		extended:        or("CNB_EXTENDED_DIR", placeholderLayers+"/extended"),
		generated:       or("CNB_GENERATED_DIR", placeholderLayers+"/generated"),
		group:           or("CNB_GROUP_PATH", placeholderLayers+"/group.toml"),
		plan:            or("CNB_PLAN_PATH", placeholderLayers+"/plan.toml"),
		report:          or("CNB_REPORT_PATH", placeholderLayers+"/report.toml"),
		projectMetadata: or("CNB_PROJECT_METADATA_PATH", placeholderLayers+"/project-metadata.toml"),
		cacheDir:        env["CNB_CACHE_DIR"],
		cacheImage:      env["CNB_CACHE_IMAGE"],
		launchCache:     env["CNB_LAUNCH_CACHE_DIR"],
		skipLayers:      boolEnv("CNB_SKIP_LAYERS"), // the creator's is CNB_SKIP_RESTORE (flags)
		parallel:        boolEnv("CNB_PARALLEL_EXPORT"),
		buildImage:      env["CNB_BUILD_IMAGE"],
		previousImage:   env["CNB_PREVIOUS_IMAGE"],
		runImage:        env["CNB_RUN_IMAGE"],
		processType:     env["CNB_PROCESS_TYPE"],
		launcher:        defaultLauncherPath,
		launcherSBOM:    "/cnb/lifecycle",
		force:           boolEnv("CNB_FORCE_REBASE"),
	}
	if s := env["CNB_INSECURE_REGISTRIES"]; s != "" {
		in.insecure = strings.Split(s, ",")
	}
	return in
}

// stringList is a repeatable flag (-tag, -insecure-registry).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// flags defines phase's flags on fs, for the Platform API in.api, as the
// reference's DefineFlags do: a flag of another version is unknown.
func (in *lifecycleInputs) flags(phase string, fs *flag.FlagSet) {
	v := in.api
	str := func(p *string, name, usage string) { fs.StringVar(p, name, *p, usage) }
	boolean := func(p *bool, name, usage string) { fs.BoolVar(p, name, *p, usage) }
	intFlag := func(p *int, name, usage string) { fs.IntVar(p, name, *p, usage) }
	common := func() {
		str(&in.logLevel, "log-level", "logging level")
		boolean(&in.noColor, "no-color", "disable color output")
	}
	user := func() {
		intFlag(&in.uid, "uid", "UID of user in the stack's build and run images")
		intFlag(&in.gid, "gid", "GID of user's group in the stack's build and run images")
	}
	insecure := func() {
		if v.AtLeast("0.13") {
			fs.Var(&in.insecure, "insecure-registry", "insecure registries")
		}
	}
	layout := func() {
		if v.AtLeast("0.12") {
			str(&in.layoutDir, "layout-dir", "path to output directory for images in OCI layout format")
			boolean(&in.useLayout, "layout", "export to OCI layout format on disk")
		}
	}
	common()
	switch phase {
	case "analyze":
		insecure()
		layout()
		if v.AtLeast("0.12") {
			str(&in.run, "run", "path to run.toml")
		} else {
			str(&in.stack, "stack", "path to stack.toml")
		}
		if v.AtLeast("0.9") {
			str(&in.launchCache, "launch-cache", "path to launch cache directory")
			boolean(&in.skipLayers, "skip-layers", "do not provide layer metadata to buildpacks")
		}
		str(&in.analyzed, "analyzed", "path to analyzed.toml")
		str(&in.cacheImage, "cache-image", "cache image tag name")
		str(&in.layers, "layers", "path to layers directory")
		str(&in.previousImage, "previous-image", "reference to previous image")
		str(&in.runImage, "run-image", "reference to run image")
		fs.Var(&in.tags, "tag", "additional tags")
		user()
		boolean(&in.useDaemon, "daemon", "export to docker daemon")
	case "detect":
		if v.AtLeast("0.12") {
			str(&in.run, "run", "path to run.toml")
		}
		if v.AtLeast("0.11") {
			str(&in.buildConfig, "build-config", "path to build config directory")
		}
		if v.AtLeast("0.10") {
			str(&in.analyzed, "analyzed", "path to analyzed.toml")
			str(&in.extensions, "extensions", "path to extensions directory")
			str(&in.generated, "generated", "path to output directory for files generated by image extensions")
		}
		str(&in.app, "app", "path to app directory")
		str(&in.buildpacks, "buildpacks", "path to buildpacks directory")
		str(&in.group, "group", "path to group.toml")
		str(&in.layers, "layers", "path to layers directory")
		str(&in.order, "order", "path to order.toml")
		str(&in.plan, "plan", "path to plan.toml")
		str(&in.platform, "platform", "path to platform directory")
	case "restore":
		insecure()
		if v.AtLeast("0.12") {
			boolean(&in.useDaemon, "daemon", "export to docker daemon")
			str(&in.generated, "generated", "path to output directory for files generated by image extensions")
			layout()
		}
		if v.AtLeast("0.10") {
			str(&in.buildImage, "build-image", "build image tag name")
		}
		if v.AtLeast("0.14") {
			str(&in.run, "run", "path to run.toml")
		}
		str(&in.analyzed, "analyzed", "path to analyzed.toml")
		str(&in.cacheDir, "cache-dir", "path to cache directory")
		str(&in.cacheImage, "cache-image", "cache image tag name")
		str(&in.group, "group", "path to group.toml")
		str(&in.layers, "layers", "path to layers directory")
		boolean(&in.skipLayers, "skip-layers", "do not provide layer metadata to buildpacks")
		user()
	case "build":
		if v.AtLeast("0.12") {
			str(&in.analyzed, "analyzed", "path to analyzed.toml")
		}
		if v.AtLeast("0.11") {
			str(&in.buildConfig, "build-config", "path to build config directory")
		}
		str(&in.app, "app", "path to app directory")
		str(&in.buildpacks, "buildpacks", "path to buildpacks directory")
		str(&in.group, "group", "path to group.toml")
		str(&in.layers, "layers", "path to layers directory")
		str(&in.plan, "plan", "path to plan.toml")
		str(&in.platform, "platform", "path to platform directory")
	case "export":
		insecure()
		if v.AtLeast("0.12") {
			str(&in.extended, "extended", "path to output directory for image layers created from applying generated Dockerfiles")
			layout()
			str(&in.run, "run", "path to run.toml")
		} else {
			str(&in.stack, "stack", "path to stack.toml")
		}
		if v.AtLeast("0.11") {
			str(&in.launcherSBOM, "launcher-sbom", "path to launcher SBOM directory")
		}
		str(&in.analyzed, "analyzed", "path to analyzed.toml")
		str(&in.app, "app", "path to app directory")
		str(&in.cacheDir, "cache-dir", "path to cache directory")
		str(&in.cacheImage, "cache-image", "cache image tag name")
		str(&in.group, "group", "path to group.toml")
		str(&in.launchCache, "launch-cache", "path to launch cache directory")
		str(&in.launcher, "launcher", "path to launcher binary")
		str(&in.layers, "layers", "path to layers directory")
		boolean(&in.parallel, "parallel", "export app image and cache image in parallel")
		str(&in.processType, "process-type", "default process type")
		str(&in.projectMetadata, "project-metadata", "path to project-metadata.toml")
		str(&in.report, "report", "path to report.toml")
		str(&in.runImage, "run-image", "reference to run image")
		fs.StringVar(&in.runImage, "image", in.runImage, "reference to run image (deprecated)")
		user()
		boolean(&in.useDaemon, "daemon", "export to docker daemon")
	case "create":
		if v.AtLeast("0.13") {
			fs.Var(&in.insecure, "insecure-registry", "insecure registries")
		}
		if v.AtLeast("0.12") {
			layout()
			str(&in.run, "run", "path to run.toml")
		} else {
			str(&in.stack, "stack", "path to stack.toml")
		}
		if v.AtLeast("0.11") {
			str(&in.buildConfig, "build-config", "path to build config directory")
			str(&in.launcherSBOM, "launcher-sbom", "path to launcher SBOM directory")
		}
		str(&in.app, "app", "path to app directory")
		str(&in.buildpacks, "buildpacks", "path to buildpacks directory")
		str(&in.cacheDir, "cache-dir", "path to cache directory")
		str(&in.cacheImage, "cache-image", "cache image tag name")
		str(&in.launchCache, "launch-cache", "path to launch cache directory")
		str(&in.launcher, "launcher", "path to launcher binary")
		str(&in.layers, "layers", "path to layers directory")
		str(&in.order, "order", "path to order.toml")
		boolean(&in.parallel, "parallel", "export app image and cache image in parallel")
		str(&in.platform, "platform", "path to platform directory")
		str(&in.previousImage, "previous-image", "reference to previous image")
		str(&in.processType, "process-type", "default process type")
		str(&in.projectMetadata, "project-metadata", "path to project-metadata.toml")
		str(&in.report, "report", "path to report.toml")
		str(&in.runImage, "run-image", "reference to run image")
		// The creator's -skip-restore is CNB_SKIP_RESTORE, the analyzer's
		// and restorer's -skip-layers CNB_SKIP_LAYERS, as the reference.
		in.skipLayers, _ = strconv.ParseBool(in.env["CNB_SKIP_RESTORE"])
		boolean(&in.skipLayers, "skip-restore", "do not restore layers or layer metadata")
		fs.Var(&in.tags, "tag", "additional tags")
		user()
		boolean(&in.useDaemon, "daemon", "export to docker daemon")
	case "rebase":
		insecure()
		if v.AtLeast("0.12") {
			boolean(&in.force, "force", "execute rebase even if operation is unsafe")
		}
		if v.AtLeast("0.11") {
			str(&in.previousImage, "previous-image", "reference to previous image")
		}
		fs.StringVar(&in.runImage, "image", in.runImage, "reference to run image (deprecated)")
		str(&in.report, "report", "path to report.toml")
		str(&in.runImage, "run-image", "reference to run image")
		user()
		boolean(&in.useDaemon, "daemon", "export to docker daemon")
	}
}

// resolvePaths replaces <layers> in the paths that default below the
// layers directory, falls back to /cnb/order.toml when <layers>/order.toml
// does not exist, and makes directories absolute (the reference's
// UpdatePlaceholderPaths and ResolveAbsoluteDirPaths).
func (in *lifecycleInputs) resolvePaths() error {
	for _, p := range []*string{&in.analyzed, &in.extended, &in.generated, &in.group, &in.order, &in.plan, &in.projectMetadata, &in.report} {
		if !strings.Contains(*p, placeholderLayers) {
			continue
		}
		isOrder := *p == placeholderLayers+"/order.toml"
		*p = strings.Replace(*p, placeholderLayers, in.layers, 1)
		if isOrder {
			if _, err := os.Stat(*p); err != nil {
				*p = defaultOrderPath
			}
		}
	}
	for _, p := range []*string{&in.app, &in.buildConfig, &in.buildpacks, &in.cacheDir, &in.extensions, &in.generated, &in.launchCache, &in.layers, &in.platform} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	return nil
}
