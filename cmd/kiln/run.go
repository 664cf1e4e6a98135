package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/sandbox"
	"github.com/spf13/cobra"
)

func init() { subcommandFactories = append(subcommandFactories, newRunCmd) }

// runFlags are `kiln run`'s flags.
type runFlags struct {
	entrypoint  *string
	env         []string
	user        string
	workdir     string
	network     string
	sandbox     string
	volumes     []string
	interactive bool
	tty         bool
}

func newRunCmd(g *globalFlags) *cobra.Command {
	f := &runFlags{}
	var entrypoint string
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE|rootfs:DIR [ARG...]",
		Short: "Run an image in the sandbox, like docker run",
		Long: `Run IMAGE's entrypoint and command in kiln's sandbox, with the image's
environment, user and working directory, as docker run does. ARGs replace the
image's command. Flags go before IMAGE; everything after it is the process's.

The sandbox needs no daemon and no root: the process runs in its own mount,
PID, IPC and UTS namespaces (and a user namespace when kiln is not root), on a
read-only view of the image with a private /tmp, without capabilities.
kiln exits with the process's exit code; Ctrl-C stops the process.

Networks:
  --network host  shares the host's network namespace: its interfaces and
                  ports (a server the process starts is reachable on them, and
                  it reaches the host's loopback services), and the host's
                  abstract unix sockets, which check nothing but the uid of
                  who connects: a process running as root on the machine
                  (kiln run as root, image user root) reaches them as root.
  --network none  a private network namespace with loopback only.
The default is host, except for a process that would run as root on the
machine (kiln as root, outside a user namespace, and the image's user or
--user is 0): it gets none unless --network host is given. Run by an
ordinary user, the process's root is that user and host is the default.

rootfs:DIR runs a process on a root filesystem directory instead of an image
(no image configuration: give the command). --sandbox none runs the process
as a plain child of kiln, without namespaces, on the current root filesystem
(rootfs:/ only), for use inside a container that is itself the sandbox.`,
		Example: `  kiln run oci:./app-image
  kiln run --entrypoint /bin/cat oci:./app-image /etc/os-release
  kiln run -it --user 0 --env DEBUG=1 registry.example/app:1 sh
  kiln run --sandbox none rootfs:/ /cnb/buildpacks/acme/1/bin/detect`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("entrypoint") {
				f.entrypoint = &entrypoint
			}
			return runImage(cmd, g, f, args[0], args[1:])
		},
	}
	// Everything after IMAGE belongs to the process, flags included.
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.StringVar(&entrypoint, "entrypoint", "", "run this program instead of the image's entrypoint (and drop the image's command)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set an environment variable, K=V, or K to copy it from kiln's environment (repeatable)")
	fl.StringVarP(&f.user, "user", "u", "", "run as UID[:GID] or NAME[:GROUP] of the image (default: the image's user)")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container (default: the image's)")
	fl.StringVar(&f.network, "network", "host", "network: host (the host's: ports, loopback services, abstract unix sockets) or none (loopback only); "+
		"default host, but none for a process that would run as root on this machine")
	fl.StringVar(&f.sandbox, "sandbox", "auto", sandboxFlagUsage)
	fl.StringArrayVar(&f.volumes, "volume", nil, "bind mount HOST_PATH:CONTAINER_PATH[:ro] (repeatable; -v is kiln's --verbose)")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "pass kiln's stdin to the process")
	fl.BoolVarP(&f.tty, "tty", "t", false, "give the process a terminal")
	return cmd
}

// runImage is `kiln run`: resolve the image, unpack it through the store's
// rootfs cache and run its process in a fresh container.
func runImage(cmd *cobra.Command, g *globalFlags, f *runFlags, image string, args []string) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	network, err := parseNetwork(f.network)
	if err != nil {
		return err
	}
	explicitNetwork := cmd.Flags().Changed("network")
	mounts, err := parseVolumes(f.volumes)
	if err != nil {
		return err
	}
	level, err := sandbox.ParseLevel(f.sandbox)
	if err != nil {
		return fmt.Errorf("--sandbox: %w", err)
	}
	rootfs, cf, err := runRootfs(cmd, g, image)
	if err != nil {
		return err
	}
	p, err := imageProcess(cf.Config, rootfs, f, args)
	if err != nil {
		return err
	}
	state, err := stateDir()
	if err != nil {
		return err
	}
	cfg := sandbox.Config{
		Level:    level,
		Rootfs:   rootfs,
		Mounts:   mounts,
		Network:  network,
		Hostname: hostname(cf.Config),
		StateDir: state,
		Logger:   g.logger(stderr),
	}
	if !explicitNetwork {
		if cfg.Network, err = defaultRunNetwork(cfg, p.UID, stderr); err != nil {
			return err
		}
	}
	p.Stdout, p.Stderr = cmd.OutOrStdout(), stderr
	if f.interactive {
		p.Stdin = cmd.InOrStdin()
	}
	if f.tty {
		restore := prepareTerminal(&p, f.interactive)
		defer restore()
	}
	// Signals go to the process, as with docker run; a second one kills it.
	runCtx, stop := proxySignals(ctx, &p)
	defer stop()
	code, err := sandbox.Run(runCtx, cfg, p)
	switch {
	case runCtx.Err() != nil:
		return silentError(130) // interrupted, as a shell reports Ctrl-C
	case errors.Is(err, sandbox.ErrNotFound), errors.Is(err, sandbox.ErrNotExecutable):
		return exitError{err: err, code: code}
	case err != nil:
		return withSandboxHint(err, "in a container running the image, kiln run --sandbox none rootfs:/ COMMAND")
	case code != 0:
		return silentError(code)
	}
	return nil
}

// runRootfs is the root filesystem to run on and the image configuration
// that comes with it: an image unpacked through the store's rootfs cache,
// or rootfs:DIR with no configuration.
func runRootfs(cmd *cobra.Command, g *globalFlags, image string) (string, *v1.ConfigFile, error) {
	if dir, ok := strings.CutPrefix(image, "rootfs:"); ok {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return "", nil, fmt.Errorf("%s: not a directory", image)
		}
		abs, err := filepath.Abs(dir)
		return abs, &v1.ConfigFile{}, err
	}
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	ref, err := parseImageArg("IMAGE", image, refInput)
	if err != nil {
		return "", nil, err
	}
	opts, err := g.ociOptions(stderr)
	if err != nil {
		return "", nil, err
	}
	img, err := oci.Read(ctx, ref, opts...)
	if err != nil {
		return "", nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", nil, fmt.Errorf("reading the configuration of %s: %w", image, err)
	}
	store, err := g.openStore()
	if err != nil {
		return "", nil, err
	}
	unpack := oci.UnpackOptions{Rootless: sandbox.Rootless()}
	if ref.Kind != oci.KindArchive {
		// Progress reads layers compressed, which a docker archive of
		// plain tars would only produce by compressing them.
		unpack.Progress = g.progressFor(stderr, "image "+image)
	}
	rootfs, err := store.Rootfs(ctx, img, unpack)
	return rootfs, cf, err
}

// defaultRunNetwork is the network of a process of uid without --network:
// the host's, unless the process would run as the machine's root, which
// the host's abstract unix sockets would take for root (the class of
// CVE-2020-15257): a private network then, or, where there can be none
// (the none sandbox level), a refusal.
func defaultRunNetwork(cfg sandbox.Config, uid int, stderr io.Writer) (sandbox.Network, error) {
	iso, err := sandbox.Choose(cfg)
	if err != nil || !sandbox.HostRoot(iso, uid) {
		return sandbox.NetworkHost, nil // a level that cannot run says so when it starts
	}
	if iso.Level == sandbox.LevelNone {
		return 0, errors.New("processes would run as root on this machine, on the host's network (its abstract unix " +
			"sockets take them for root) and without namespaces: give --network host to allow it, or run them as another user")
	}
	fmt.Fprintln(stderr, "Note: processes run as root on this machine: they get a private network (--network none); "+
		"give --network host to share the host's, abstract unix sockets included")
	return sandbox.NetworkNone, nil
}

// exitError is an error to print with a process exit code.
type exitError struct {
	err  error
	code int
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
func (e exitError) ExitCode() int { return e.code }

// imageProcess is the process docker run would start for the image
// config c with the flags and ARGs.
func imageProcess(c v1.Config, rootfs string, f *runFlags, args []string) (sandbox.Process, error) {
	entrypoint, command := c.Entrypoint, c.Cmd
	if f.entrypoint != nil {
		entrypoint, command = nil, nil
		if *f.entrypoint != "" {
			entrypoint = []string{*f.entrypoint}
		}
	}
	if len(args) > 0 {
		command = args
	}
	argv := append(append([]string(nil), entrypoint...), command...)
	if len(argv) == 0 {
		return sandbox.Process{}, errors.New("the image has no entrypoint or command: give one after IMAGE, or --entrypoint")
	}
	userSpec := c.User
	if f.user != "" {
		userSpec = f.user
	}
	u, err := lookupUser(rootfs, userSpec)
	if err != nil {
		return sandbox.Process{}, err
	}
	env := mergeEnv(c.Env, f.env, os.LookupEnv)
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+u.home)
	}
	dir := c.WorkingDir
	if f.workdir != "" {
		dir = f.workdir
	}
	if dir == "" {
		dir = "/"
	}
	return sandbox.Process{Args: argv, Env: env, Dir: dir, UID: u.uid, GID: u.gid}, nil
}

// mergeEnv applies --env entries to the image's environment: K=V sets,
// a bare K copies kiln's own value (and is dropped when kiln has none).
func mergeEnv(image, flags []string, lookup func(string) (string, bool)) []string {
	env := append([]string(nil), image...)
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		for i, e := range env {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				env[i] = kv
				return
			}
		}
		env = append(env, kv)
	}
	for _, kv := range flags {
		if strings.Contains(kv, "=") {
			set(kv)
		} else if v, ok := lookup(kv); ok {
			set(kv + "=" + v)
		}
	}
	return env
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

func parseNetwork(s string) (sandbox.Network, error) {
	switch s {
	case "host", "":
		return sandbox.NetworkHost, nil
	case "none":
		return sandbox.NetworkNone, nil
	}
	return 0, fmt.Errorf("--network %q: want host or none", s)
}

// parseVolumes turns -v HOST:CONTAINER[:ro] into bind mounts.
func parseVolumes(vs []string) ([]sandbox.Mount, error) {
	var ms []sandbox.Mount
	for _, v := range vs {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !filepath.IsAbs(parts[1]) ||
			(len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
			return nil, fmt.Errorf("--volume %q: want HOST_PATH:CONTAINER_PATH[:ro]", v)
		}
		src, err := filepath.Abs(parts[0])
		if err != nil {
			return nil, fmt.Errorf("--volume %q: %w", v, err)
		}
		ms = append(ms, sandbox.Mount{Source: src, Destination: parts[1], ReadOnly: len(parts) == 3 && parts[2] == "ro"})
	}
	return ms, nil
}

// stateDir is the sandbox's state root: per user, on a runtime file system
// when there is one. A directory in a shared /tmp must be the user's own.
func stateDir() (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kiln-%d", os.Geteuid()))
	if os.Geteuid() == 0 {
		dir = "/run/kiln"
	} else if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dir = filepath.Join(d, "kiln")
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the sandbox state directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("checking the sandbox state directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("sandbox state directory %s must be a directory of yours with mode 0700", dir)
	}
	return dir, nil
}

// hostname is the container's host name: docker uses the container id;
// kiln uses the image's Hostname when set.
func hostname(c v1.Config) string {
	if c.Hostname != "" {
		return c.Hostname
	}
	return "kiln"
}
