package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/lifecycle/appimage"
	"github.com/kilnbuild/kiln/lifecycle/platform"
	"github.com/kilnbuild/kiln/lifecycle/project"
	"github.com/kilnbuild/kiln/oci"
)

// parseTags parses -t/--tag: more outputs for the same image.
func parseTags(tags []string) ([]oci.Reference, error) {
	refs := make([]oci.Reference, 0, len(tags))
	for _, t := range tags {
		ref, err := parseImageArg("--tag", t, refOutput)
		if err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// creationTime reads --creation-time (now, or Unix seconds), else
// SOURCE_DATE_EPOCH; zero means the CNB epoch.
func creationTime(flag string) (time.Time, error) {
	switch flag {
	case "":
		return sourceDateEpoch()
	case "now":
		return time.Now().UTC().Truncate(time.Second), nil
	}
	n, err := strconv.ParseInt(flag, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("--creation-time %q: want now or a number of seconds since 1970 (e.g. 1641013200)", flag)
	}
	return time.Unix(n, 0).UTC(), nil
}

// appSource returns the app directory for --path: the directory itself, or
// a .zip or .jar extracted into dir.
func appSource(ctx context.Context, path, dir string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--path %s: %w (the app's source directory, or a .zip or .jar of it)", path, errors.Unwrap(err))
	}
	if fi.IsDir() {
		return path, nil
	}
	if !project.IsArchive(path) {
		return "", fmt.Errorf("--path %s is a file, not a directory, .zip or .jar: give the app's source directory", path)
	}
	if err := project.ExtractArchive(ctx, path, dir); err != nil {
		return "", fmt.Errorf("--path: %w (want a zip or jar file)", err)
	}
	return dir, nil
}

// checkSBOMDir checks --sbom-output-dir before the build: it must be a
// directory or not exist yet.
func checkSBOMDir(dir string) error {
	if dir == "" {
		return nil
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("--sbom-output-dir %s is a file: give a directory (it is created when missing)", dir)
	}
	return nil
}

// writeSBOM copies the image's SBOM files into dir.
func writeSBOM(ctx context.Context, stderr io.Writer, img v1.Image, dir string) error {
	if err := appimage.ExtractSBOM(ctx, img, dir); err != nil {
		if errors.Is(err, appimage.ErrNoSBOM) {
			fmt.Fprintf(stderr, "note: --sbom-output-dir: no buildpack wrote an SBOM, so %s is left as it is\n", dir)
			return nil
		}
		return fmt.Errorf("--sbom-output-dir %s: %w", dir, err)
	}
	fmt.Fprintf(stderr, "wrote the SBOM files to %s\n", dir)
	return nil
}

// warnRootUser warns when the app image would run as root: a run image
// without a user, or user 0.
func warnRootUser(stderr io.Writer, img v1.Image) {
	cf, err := img.ConfigFile()
	if err != nil {
		return
	}
	u := cf.Config.User
	if name, _, _ := strings.Cut(u, ":"); u == "" || name == "0" || name == "root" {
		fmt.Fprintf(stderr, "Warning: the app image runs as root (its run image sets no user, or user %q): "+
			"make the stack with kiln stack create (its run image runs as the CNB user), or give --run-image one that sets USER\n", u)
	}
}

// failureReport is what --report holds when the build failed.
type failureReport struct {
	Image    string             `json:"image"`
	Failed   bool               `json:"failed"`
	Phase    string             `json:"phase"`
	ExitCode int                `json:"exitCode"`
	Error    string             `json:"error"`
	Phases   []buildReportPhase `json:"phases"`
}

// writeFailureReport writes --report for a failed build: the phase that
// failed, the exit code kiln exits with, the error and the phases done.
// stage is what kiln was doing outside Build: "setup" (flags, files) or
// "write" (the image to its outputs).
func writeFailureReport(path, image, stage string, res *platform.BuildOutput, buildErr error) error {
	r := failureReport{Image: image, Failed: true, Phase: stage, ExitCode: exitCodeOf(buildErr), Error: buildErr.Error(), Phases: reportPhases(nil)}
	if res != nil {
		if res.FailedPhase != "" {
			r.Phase = res.FailedPhase
		}
		r.Phases = reportPhases(res.Phases)
	}
	return writeReport(path, r)
}
