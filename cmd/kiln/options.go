package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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

// lazyOptions are opts for reading ref without the store when ref is a
// registry image: only its manifest and config are fetched then, and its
// layers stay remote (never downloaded, mounted when pushed to the same
// registry). With pull policy never the store is the only source.
func lazyOptions(ref oci.Reference, policy oci.PullPolicy, opts []oci.Option) []oci.Option {
	if ref.Kind != oci.KindRegistry || policy == oci.PullNever {
		return opts
	}
	return append(append([]oci.Option{}, opts...), oci.WithStore(nil))
}

// readLazily reads the image ref names with the global flags' registry
// options and pull policy, as lazyOptions does: for commands that only look
// at an image (inspect, sbom download, builder inspect).
func (g *globalFlags) readLazily(ctx context.Context, stderr io.Writer, ref oci.Reference) (v1.Image, error) {
	opts, err := g.ociOptions(stderr)
	if err != nil {
		return nil, err
	}
	policy, err := oci.ParsePullPolicy(g.pull)
	if err != nil {
		return nil, err
	}
	return oci.Read(ctx, ref, lazyOptions(ref, policy, opts)...)
}
