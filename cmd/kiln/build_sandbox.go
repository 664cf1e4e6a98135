package main

import (
	"context"
	"log/slog"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/platform"
	"github.com/kilnbuild/kiln/sandbox"
)

// buildSandbox adapts package sandbox to the build's platform.Sandbox: one
// container per build, one process per buildpack executable.
type buildSandbox struct {
	network  sandbox.Network
	stateDir string
	logger   *slog.Logger
}

// Start starts the build container.
func (s *buildSandbox) Start(ctx context.Context, c platform.Container) (platform.Session, error) {
	mounts := make([]sandbox.Mount, 0, len(c.Mounts))
	for _, m := range c.Mounts {
		mounts = append(mounts, sandbox.Mount{Source: m.Source, Destination: m.Destination, ReadOnly: m.ReadOnly})
	}
	ct, err := sandbox.Start(ctx, sandbox.Config{
		Rootfs:   c.Rootfs,
		Mounts:   mounts,
		Network:  s.network,
		StateDir: s.stateDir,
		Logger:   s.logger,
	})
	if err != nil {
		return nil, err
	}
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

// Close stops the container.
func (s *buildSession) Close() error { return s.ct.Close() }
