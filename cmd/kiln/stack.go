package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/stackgen"
	"github.com/kilnbuild/kiln/stackgen/debian"
)

func init() { subcommandFactories = append(subcommandFactories, newStackCmd) }

// Where the machine's apt configuration lives; read by the CLI only.
const (
	stackAptSourcesList = "/etc/apt/sources.list"
	stackAptSourcesDir  = "/etc/apt/sources.list.d"
	stackDebianKeyring  = "/usr/share/keyrings/debian-archive-keyring.gpg"
	stackLockName       = "stack.lock"
	stackEpochEnv       = "SOURCE_DATE_EPOCH"
	stackCreateUsage    = `Make a stack's build and run images, without Docker.

A base is an image reference (oci:DIR[:TAG], docker-archive:FILE, a registry
name) or rootfs:PATH for a root filesystem directory or tar. The build image
gets the CNB user (added to the base's /etc/passwd and /etc/group, with a home
directory), USER uid:gid and CNB_USER_ID, CNB_GROUP_ID, CNB_STACK_ID; both
images get io.buildpacks.stack.id and the distro labels from os-release.

With --config, stack.toml describes the stack, including Debian packages to
lay out on top of (or instead of) a base; the resolved packages are pinned in
stack.lock next to it, and the same lock gives the same digests. Packages are
resolved from the stack's [[debian.sources]], the --apt-source lines, or else
this machine's apt sources (/etc/apt/sources.list{,.d}). With --pull never,
nothing is downloaded: the lock and the store must hold everything.

SOURCE_DATE_EPOCH sets the creation time recorded in the images (default
1980-01-01T00:00:01Z). The digests of the two images are printed on stdout.`
)

func newStackCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "stack", Short: "Make CNB stack (build and run) images"}
	cmd.AddCommand(newStackCreateCmd(g))
	return cmd
}

// stackFlags are the flags of `kiln stack create`.
type stackFlags struct {
	config, lock                        string
	id, buildBase, runBase              string
	buildOutput, runOutput              string
	uid, gid                            int
	userName, groupName                 string
	buildPackages, runPackages, exclude []string
	aptSources                          []string
	arch                                string
	runUser, relock                     bool
}

func newStackCreateCmd(g *globalFlags) *cobra.Command {
	f := &stackFlags{}
	cmd := &cobra.Command{
		Use:   "create --build-output REF --run-output REF [--config stack.toml | --id ID --build-base REF --run-base REF]",
		Short: "Make a stack's build and run images from images, root filesystems or Debian packages",
		Long:  stackCreateUsage,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runStackCreate(cmd, g, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "stack.toml describing the stack")
	fl.StringVar(&f.lock, "lock", "", "lock file (default stack.lock next to --config)")
	fl.StringVar(&f.id, "id", "", "stack ID")
	fl.StringVar(&f.buildBase, "build-base", "", "base of the build image: an image reference or rootfs:PATH")
	fl.StringVar(&f.runBase, "run-base", "", "base of the run image: an image reference or rootfs:PATH")
	fl.StringVar(&f.buildOutput, "build-output", "", "where to write the build image (required)")
	fl.StringVar(&f.runOutput, "run-output", "", "where to write the run image (required)")
	fl.IntVar(&f.uid, "uid", 0, "CNB user ID (default 1000)")
	fl.IntVar(&f.gid, "gid", 0, "CNB group ID (default 1000)")
	fl.StringVar(&f.userName, "user-name", "", "CNB user name (default: the base's user with --uid, else cnb)")
	fl.StringVar(&f.groupName, "group-name", "", "CNB group name (default: the base's group with --gid, else the user name)")
	fl.StringArrayVar(&f.buildPackages, "build-package", nil, "Debian package for the build image (repeatable)")
	fl.StringArrayVar(&f.runPackages, "run-package", nil, "Debian package for the run image (repeatable)")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "Debian package to leave out of both images (repeatable)")
	fl.StringArrayVar(&f.aptSources, "apt-source", nil, `apt repository as in sources.list without "deb", e.g. "[trusted=yes] file:/srv/repo stable main" (repeatable)`)
	fl.StringVar(&f.arch, "arch", "", "Debian architecture of the packages (default: the base's, else this machine's)")
	fl.BoolVar(&f.runUser, "run-user", true, "the run image runs as the CNB user; --run-user=false keeps the base's user (root when it sets none)")
	fl.BoolVar(&f.relock, "relock", false, "resolve the packages again even when the lock answers the request")
	return cmd
}

func runStackCreate(cmd *cobra.Command, g *globalFlags, f *stackFlags) error {
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	if f.buildOutput == "" || f.runOutput == "" {
		return errors.New("--build-output and --run-output are required")
	}
	buildRef, err := parseImageArg("--build-output", f.buildOutput, refOutput)
	if err != nil {
		return err
	}
	runRef, err := parseImageArg("--run-output", f.runOutput, refOutput)
	if err != nil {
		return err
	}
	spec, lockPath, err := f.spec(cmd)
	if err != nil {
		return err
	}
	if len(spec.Build.Packages)+len(spec.Run.Packages) > 0 && len(spec.Debian.Sources) == 0 {
		if spec.Debian.Sources, err = stackMachineSources(); err != nil {
			return err
		}
	}
	opts, err := g.stackOptions(stderr, f.relock)
	if err != nil {
		return err
	}
	if len(spec.Build.Packages)+len(spec.Run.Packages) > 0 {
		lock, err := stackgen.Resolve(ctx, spec, opts...)
		if err != nil {
			return f.inConfig(err)
		}
		if lockPath != "" && (spec.Lock == nil || !reflect.DeepEqual(*spec.Lock, *lock)) {
			if err := lock.WriteFile(lockPath); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "wrote %s\n", lockPath)
		}
		spec.Lock = lock
	}
	build, run, err := stackgen.Generate(ctx, spec, opts...)
	if err != nil {
		return f.inConfig(err)
	}
	ociOpts, err := g.ociOptions(stderr)
	if err != nil {
		return err
	}
	bd, err := oci.Write(ctx, buildRef, build, ociOpts...)
	if err != nil {
		return fmt.Errorf("writing build image: %w", err)
	}
	rd, err := oci.Write(ctx, runRef, run, ociOpts...)
	if err != nil {
		return fmt.Errorf("writing run image: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "build %s %s\nrun %s %s\n", f.buildOutput, bd, f.runOutput, rd)
	return nil
}

// inConfig names the stack.toml in an error about what it describes.
func (f *stackFlags) inConfig(err error) error {
	if f.config == "" {
		return err
	}
	return fmt.Errorf("%s: %w", f.config, err)
}

// spec builds the stack spec from --config (and its lock) and the flags,
// flags winning over the file.
func (f *stackFlags) spec(cmd *cobra.Command) (stackgen.Spec, string, error) {
	var (
		spec     stackgen.Spec
		lockPath = f.lock
		err      error
	)
	if f.config != "" {
		if spec, err = stackgen.LoadConfig(f.config); err != nil {
			return spec, "", err
		}
		if lockPath == "" {
			lockPath = filepath.Join(filepath.Dir(f.config), stackLockName)
		}
	}
	changed := cmd.Flags().Changed
	set := func(flag string, dst *string, v string) {
		if changed(flag) {
			*dst = v
		}
	}
	set("id", &spec.ID, f.id)
	set("build-base", &spec.Build.Base, f.buildBase)
	set("run-base", &spec.Run.Base, f.runBase)
	set("user-name", &spec.UserName, f.userName)
	set("group-name", &spec.GroupName, f.groupName)
	set("arch", &spec.Debian.Architecture, f.arch)
	for flag, v := range map[string]int{"uid": f.uid, "gid": f.gid} {
		if changed(flag) && v <= 0 {
			return spec, "", fmt.Errorf("--%s %d: %w", flag, v, stackgen.ErrRootUser)
		}
	}
	if changed("uid") {
		spec.UID = f.uid
	}
	if changed("gid") {
		spec.GID = f.gid
	}
	if changed("run-user") {
		spec.Run.User, spec.Run.AsRoot = f.runUser, !f.runUser
	}
	spec.Build.Packages = append(spec.Build.Packages, f.buildPackages...)
	spec.Run.Packages = append(spec.Run.Packages, f.runPackages...)
	spec.Build.Exclude = append(spec.Build.Exclude, f.exclude...)
	spec.Run.Exclude = append(spec.Run.Exclude, f.exclude...)
	for _, line := range f.aptSources {
		srcs, err := debian.ParseSources("--apt-source", strings.NewReader("deb "+line))
		if err != nil || len(srcs) == 0 {
			return spec, "", fmt.Errorf("--apt-source %q: want [OPTIONS] URI SUITE [COMPONENT...]: %v", line, err)
		}
		spec.Debian.Sources = append(spec.Debian.Sources, stackDefaultKeyring(srcs)...)
	}
	if spec.ID == "" {
		return spec, "", errors.New("a stack ID is required: --id or id in --config")
	}
	if spec.Build.Base == "" && len(spec.Build.Packages) == 0 || spec.Run.Base == "" && len(spec.Run.Packages) == 0 {
		return spec, "", errors.New("each image needs a base (--build-base, --run-base) or packages")
	}
	if lockPath != "" {
		if _, err := os.Stat(lockPath); err == nil {
			if spec.Lock, err = stackgen.ReadLock(lockPath); err != nil {
				return spec, "", err
			}
		}
	}
	return spec, lockPath, nil
}

// stackOptions turns the global flags and SOURCE_DATE_EPOCH into options
// for stackgen.
func (g *globalFlags) stackOptions(stderr io.Writer, relock bool) ([]stackgen.Option, error) {
	policy, err := oci.ParsePullPolicy(g.pull)
	if err != nil {
		return nil, fmt.Errorf("--pull: %w", err)
	}
	store, err := g.openStore()
	if err != nil {
		return nil, err
	}
	opts := []stackgen.Option{
		stackgen.WithStore(store),
		stackgen.WithPullPolicy(policy),
		stackgen.WithOCIOptions(append(g.registryOptions(stderr), oci.WithProgress(g.progress(stderr)))...),
		stackgen.WithLogger(g.logger(stderr)),
		stackgen.WithRelock(relock),
		stackgen.WithProgress(func(p stackgen.Progress) {
			if g.quiet {
				return
			}
			prefix := ""
			if p.Image != "" {
				prefix = p.Image + " image: "
			}
			switch {
			case p.Step == "laid out packages":
				fmt.Fprintf(stderr, "%slaid out %d packages, %s\n", prefix, p.Count, humanBytes(p.Size))
			case p.Count > 0:
				fmt.Fprintf(stderr, "%s%s %d/%d %s (%s)\n", prefix, p.Step, p.Index, p.Count, p.Name, humanBytes(p.Size))
			case p.Name != "":
				fmt.Fprintf(stderr, "%s%s %s\n", prefix, p.Step, p.Name)
			}
		}),
	}
	if s := os.Getenv(stackEpochEnv); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: not a number of seconds", stackEpochEnv, s)
		}
		opts = append(opts, stackgen.WithCreated(time.Unix(sec, 0)))
	}
	return opts, nil
}

// stackMachineSources reads this machine's apt sources: sources.list and the
// *.list and *.sources files of sources.list.d, in name order.
func stackMachineSources() ([]debian.Source, error) {
	files := []string{stackAptSourcesList}
	entries, err := os.ReadDir(stackAptSourcesDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading apt sources: %w", err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".list") || strings.HasSuffix(n, ".sources") {
			names = append(names, filepath.Join(stackAptSourcesDir, n))
		}
	}
	sort.Strings(names)
	files = append(files, names...)
	var srcs []debian.Source
	for _, name := range files {
		fh, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading apt sources: %w", err)
		}
		s, err := debian.ParseSources(name, fh)
		fh.Close()
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, s...)
	}
	if len(srcs) == 0 {
		return nil, errors.New("no apt sources on this machine: add [[debian.sources]] to stack.toml or pass --apt-source")
	}
	// As apt does, carry on past a machine source that cannot be read.
	for i := range srcs {
		srcs[i].Optional = true
	}
	return stackDefaultKeyring(srcs), nil
}

// stackDefaultKeyring gives sources without Signed-By Debian's archive keyring,
// where apt would use its trusted.gpg.d.
func stackDefaultKeyring(srcs []debian.Source) []debian.Source {
	for i := range srcs {
		if srcs[i].SignedBy == "" && !srcs[i].Trusted {
			srcs[i].SignedBy = stackDebianKeyring
		}
	}
	return srcs
}
