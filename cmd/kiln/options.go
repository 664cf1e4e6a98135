package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kilnbuild/kiln/oci"
)

// defaultStoreDir is where the image store lives without --store:
// $XDG_CACHE_HOME/kiln, or ~/.cache/kiln when XDG_CACHE_HOME is unset.
func defaultStoreDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "kiln"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the image store: %w (set --store or XDG_CACHE_HOME)", err)
	}
	return filepath.Join(home, ".cache", "kiln"), nil
}

// logger returns the logger libraries get: debug output on stderr with -v,
// nothing otherwise (errors are returned, not logged).
func (g *globalFlags) logger(stderr io.Writer) *slog.Logger {
	if !g.verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// openStore opens --store, or the default store, once per command.
func (g *globalFlags) openStore() (*oci.Store, error) {
	if g.opened != nil {
		return g.opened, nil
	}
	dir := g.store
	if dir == "" {
		d, err := defaultStoreDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	s, err := oci.OpenStore(dir)
	if err != nil {
		return nil, err
	}
	g.opened = s
	return s, nil
}

// closeStore closes the store the command opened, if any.
func (g *globalFlags) closeStore() error {
	s := g.opened
	g.opened = nil
	if s == nil {
		return nil
	}
	return s.Close()
}

// ociOptions turns the global flags into options for oci.Read, Write and
// Copy, with progress reported to stderr.
func (g *globalFlags) ociOptions(stderr io.Writer) ([]oci.Option, error) {
	policy, err := oci.ParsePullPolicy(g.pull)
	if err != nil {
		return nil, fmt.Errorf("--pull: %w", err)
	}
	store, err := g.openStore()
	if err != nil {
		return nil, err
	}
	return append([]oci.Option{
		oci.WithStore(store),
		oci.WithPullPolicy(policy),
		oci.WithProgress(g.progress(stderr)),
	}, g.registryOptions(stderr)...), nil
}

// certsDirs are where per-registry CA and client certificates are looked
// for, as podman and docker look: DIR/HOST[:PORT]/*.crt, *.cert + *.key.
var certsDirs = []string{"/etc/containers/certs.d", "/etc/docker/certs.d"}

// registryOptions are how registries are reached: plain HTTP hosts,
// mirrors, trusted CAs, certs.d directories, hosts not verified.
func (g *globalFlags) registryOptions(stderr io.Writer) []oci.Option {
	dirs := certsDirs
	if d, err := os.UserConfigDir(); err == nil {
		dirs = append([]string{filepath.Join(d, "containers", "certs.d")}, dirs...)
	}
	return []oci.Option{
		oci.WithInsecureRegistries(g.insecure...),
		oci.WithRegistryMirrors(g.mirrors),
		oci.WithCACerts(g.caCerts...),
		oci.WithCertsDirs(dirs...),
		oci.WithTLSSkipVerify(g.skipVerify...),
		oci.WithLogger(g.logger(stderr)),
	}
}

// progress is where oci progress goes: stderr, or nowhere with -q.
func (g *globalFlags) progress(stderr io.Writer) func(oci.Progress) {
	return g.progressFor(stderr, "")
}

// progressFor is progress whose lines say what the images are, e.g.
// "pulling builder REF".
func (g *globalFlags) progressFor(stderr io.Writer, label string) func(oci.Progress) {
	if g.quiet {
		return func(oci.Progress) {}
	}
	p := newProgressPrinter(stderr)
	p.label = label
	return p.report
}
