package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/internal/atomicfile"
	"github.com/kilnbuild/kiln/lifecycle/platform"
	"github.com/kilnbuild/kiln/sandbox"
)

// buildEnv turns --env-file files and --env settings (in that order, so
// --env wins) into K=V pairs. A bare K copies kiln's own value, as docker
// and pack do.
func buildEnv(settings, files []string) ([]string, error) {
	var env []string
	for _, file := range files {
		kvs, err := readEnvFile(file)
		if err != nil {
			return nil, err
		}
		env = append(env, kvs...)
	}
	for _, s := range settings {
		kv, err := envSetting(s)
		if err != nil {
			return nil, fmt.Errorf("--env %q: %w", s, err)
		}
		env = append(env, kv)
	}
	return env, nil
}

// envSetting normalises one K=V or K setting.
func envSetting(s string) (string, error) {
	k, _, hasValue := strings.Cut(s, "=")
	if k == "" {
		return "", fmt.Errorf("no variable name")
	}
	if hasValue {
		return s, nil
	}
	return k + "=" + os.Getenv(k), nil
}

// readEnvFile reads K=V lines; blank lines and # comments are skipped.
func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading --env-file: %w", err)
	}
	defer f.Close()
	var env []string
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kv, err := envSetting(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		env = append(env, kv)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return env, nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (seconds since 1970), the image's
// created time when set (Platform API ≥0.9); zero means the CNB epoch.
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// imageID is the first 12 hex digits of a digest, as pack prints images.
func imageID(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.String()
	}
	return h.Hex[:12]
}

// buildReport is what --report writes.
type buildReport struct {
	Image    string                 `json:"image"`
	Digest   string                 `json:"digest"`
	RunImage string                 `json:"runImage"`
	Group    []buildReportBuildpack `json:"buildpacks"`
	Phases   []buildReportPhase     `json:"phases"`
	Layers   any                    `json:"layers"`
	Default  string                 `json:"defaultProcess,omitempty"`
	// Compressed is how many bytes of layer content the export compressed:
	// zero for an unchanged rebuild.
	Compressed int64 `json:"compressedBytes"`
	// Sandbox is the level buildpacks ran at.
	Sandbox *buildReportSandbox `json:"sandbox,omitempty"`
}

// buildReportSandbox is a sandbox.Isolation.
type buildReportSandbox struct {
	Level    string   `json:"level"`
	Degraded []string `json:"degraded,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

type buildReportBuildpack struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

type buildReportPhase struct {
	Phase   string  `json:"phase"`
	Seconds float64 `json:"seconds"`
}

// writeBuildReport writes the --report file atomically.
func writeBuildReport(path, image string, digest v1.Hash, res *platform.BuildOutput, iso *sandbox.Isolation) error {
	r := buildReport{Image: image, Digest: digest.String(), RunImage: res.RunImage,
		Layers: res.Export.Layers, Default: res.Export.DefaultProcess, Compressed: res.Export.CompressedBytes}
	if iso != nil {
		r.Sandbox = &buildReportSandbox{Level: iso.Level.String(), Degraded: iso.Degraded, Reason: iso.Reason}
	}
	for _, e := range res.Group.Group {
		r.Group = append(r.Group, buildReportBuildpack{ID: e.ID, Version: e.Version})
	}
	r.Phases = reportPhases(res.Phases)
	return writeReport(path, r)
}

// reportPhases are the phases a build ran, for --report (never null).
func reportPhases(phases []platform.PhaseTiming) []buildReportPhase {
	out := make([]buildReportPhase, 0, len(phases))
	for _, p := range phases {
		out = append(out, buildReportPhase{Phase: p.Phase, Seconds: p.Duration.Seconds()})
	}
	return out
}

// writeReport writes a --report file atomically, as indented JSON.
func writeReport(path string, r any) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// buildVolumes parses --volume HOST:CONTAINER[:ro|:rw] for builds: read-only
// unless :rw is given, as pack does. The host path must exist.
func buildVolumes(vs []string) ([]platform.Mount, error) {
	var ms []platform.Mount
	for _, v := range vs {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !filepath.IsAbs(parts[1]) ||
			(len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
			return nil, fmt.Errorf("--volume %q: want HOST_PATH:CONTAINER_PATH[:ro|:rw]", v)
		}
		src, err := filepath.Abs(parts[0])
		if err != nil {
			return nil, fmt.Errorf("--volume %q: %w", v, err)
		}
		if _, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("--volume %q: %w", v, err)
		}
		ms = append(ms, platform.Mount{Source: src, Destination: filepath.Clean(parts[1]),
			ReadOnly: len(parts) == 2 || parts[2] == "ro"})
	}
	return ms, nil
}
