package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/platform"
	"github.com/kilnbuild/kiln/sandbox"
)

// sandboxFlagUsage is --sandbox's help, for kiln build and kiln run.
const sandboxFlagUsage = "sandbox level: auto (namespaces where they work; none only inside a container, on its own root " +
	"filesystem), namespaces, or none (plain child processes: the enclosing container is the only boundary)"

// withSandboxHint adds kiln's flags to the way out of a sandbox level that
// cannot run here.
func withSandboxHint(err error, hint string) error {
	var u *sandbox.UnavailableError
	if errors.As(err, &u) {
		return fmt.Errorf("%w (kiln: %s)", err, hint)
	}
	return err
}

// buildSandbox adapts package sandbox to the build's platform.Sandbox: one
// container per build, one process per buildpack executable.
type buildSandbox struct {
	level   sandbox.Level
	network sandbox.Network
	// defaultNetwork: network was not asked for, so buildpacks that would
	// run as the machine's root get a private one (see defaultRunNetwork).
	defaultNetwork bool
	stateDir       string
	logger         *slog.Logger
	out            io.Writer // the build log: which level runs
	// iso is what the last container provided, for --report.
	iso *sandbox.Isolation
}

// Start starts the build container.
func (s *buildSandbox) Start(ctx context.Context, c platform.Container) (platform.Session, error) {
	mounts := make([]sandbox.Mount, 0, len(c.Mounts))
	for _, m := range c.Mounts {
		mounts = append(mounts, sandbox.Mount{Source: m.Source, Destination: m.Destination, ReadOnly: m.ReadOnly})
	}
	cfg := sandbox.Config{
		Level:    s.level,
		Rootfs:   c.Rootfs,
		Mounts:   mounts,
		Network:  s.network,
		StateDir: s.stateDir,
		Logger:   s.logger,
		UID:      c.UID,
		GID:      c.GID,
	}
	if s.defaultNetwork {
		var err error
		if cfg.Network, err = defaultRunNetwork(cfg, c.UID, s.out); err != nil {
			return nil, err
		}
	}
	ct, err := sandbox.Start(ctx, cfg)
	if err != nil {
		return nil, withSandboxHint(err, "in a container running the builder image, kiln build --sandbox none --builder rootfs:/")
	}
	iso := ct.Isolation()
	if s.iso == nil || iso.String() != s.iso.String() {
		fmt.Fprintf(s.out, "Sandbox: %s\n", iso)
	}
	s.iso = &iso
	return &buildSession{ct: ct, uid: c.UID, gid: c.GID}, nil
}

// buildSession runs the phases' commands in a started container.
type buildSession struct {
	ct       *sandbox.Container
	uid, gid int
}

// Run runs c as the CNB user.
func (s *buildSession) Run(ctx context.Context, c lifecycle.Cmd) (int, error) {
	return s.ct.Run(ctx, sandbox.Process{
		Args: c.Args, Env: c.Env, Dir: c.Dir,
		UID: s.uid, GID: s.gid,
		Stdout: c.Stdout, Stderr: c.Stderr,
	})
}

// EndPhase kills every process the phase started.
func (s *buildSession) EndPhase(ctx context.Context) error { return s.ct.EndProcesses(ctx) }

// Close stops the container.
func (s *buildSession) Close() error { return s.ct.Close() }
