package lifecycle

import (
	"errors"
	"fmt"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// Exit codes of the CNB platform specification (§ exit codes) that the phases
// of this package produce.
const (
	ExitBuildpackAPI  = 12 // a buildpack declares an unsupported Buildpack API
	ExitNoGroup       = 20 // detect: no group passed and no buildpack errored
	ExitDetectErrored = 21 // detect: no group passed and a buildpack errored
	ExitDetect        = 22 // detect: any other error
	ExitBuildpackFail = 51 // build: a buildpack's bin/build exited non-zero
	ExitBuild         = 52 // build: any other error
)

// Sentinels callers can branch on with errors.Is.
var (
	// ErrNoGroupPassed means every group of the order failed detection.
	ErrNoGroupPassed = errors.New("no buildpack group passed detection")
	// ErrBuildpackErrored means every group failed and at least one
	// buildpack's detection errored.
	ErrBuildpackErrored = errors.New("no buildpack group passed detection and a buildpack errored")
	// ErrUnsupportedAPI means a buildpack declares a Buildpack API kiln does
	// not implement.
	ErrUnsupportedAPI = errors.New("unsupported Buildpack API")
	// ErrBuildpackNotFound means an order or group names a buildpack that is
	// not in the buildpacks directory.
	ErrBuildpackNotFound = errors.New("buildpack not found")
	// ErrInvalidLayerName means a buildpack left a <name>.toml whose name
	// is not a layer name (empty, ".", "..", or reserved).
	ErrInvalidLayerName = errors.New("invalid layer name")
)

// ExitCode returns the CNB exit code for err: the code of the first error in
// its chain that has an ExitCode method, 1 for any other error, 0 for nil.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return 1
}

// DetectError is returned by Detector.Run when no group passed. Err is
// ErrNoGroupPassed or ErrBuildpackErrored; Buildpacks holds the detections
// that errored, with their output, for the error report.
type DetectError struct {
	Err        error
	Buildpacks []*BuildpackError
	// Groups says, for each group tried, what each of its buildpacks' detect
	// answered ("fail: a@1, pass: b@2"), so that the error says why.
	Groups []string
}

func (e *DetectError) Error() string {
	msg := e.Err.Error()
	for i, g := range e.Groups {
		msg += fmt.Sprintf("\n  group %d: %s", i+1, g)
	}
	for _, b := range e.Buildpacks {
		msg += "\n  " + b.Error()
	}
	return msg
}

// Unwrap returns the sentinel and every buildpack error.
func (e *DetectError) Unwrap() []error {
	errs := []error{e.Err}
	for _, b := range e.Buildpacks {
		errs = append(errs, b)
	}
	return errs
}

// ExitCode is 21 when a buildpack errored, 20 otherwise.
func (e *DetectError) ExitCode() int {
	if errors.Is(e.Err, ErrBuildpackErrored) {
		return ExitDetectErrored
	}
	return ExitNoGroup
}

// BuildpackError is a buildpack's own failure: bin/detect exiting with
// something other than 0 or 100 (or writing an invalid plan), or bin/build
// exiting non-zero. Output holds what the buildpack printed when it was
// captured (detect); build output is streamed instead.
type BuildpackError struct {
	ID, Version string
	Phase       string // "detect" or "build"
	Code        int    // the executable's exit status, -1 when it did not run or exit
	Output      []byte
	Err         error // the cause when Code is -1 or the output was invalid
}

func (e *BuildpackError) Error() string {
	subject := fmt.Sprintf("%s of buildpack %s@%s", e.Phase, e.ID, e.Version)
	if e.Err != nil {
		return subject + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s: exit status %d", subject, e.Code)
}

func (e *BuildpackError) Unwrap() error { return e.Err }

// ExitCode is 51 for a failed build and 21 for an errored detection.
func (e *BuildpackError) ExitCode() int {
	if e.Phase == "build" {
		return ExitBuildpackFail
	}
	return ExitDetectErrored
}

// APIError reports a buildpack whose Buildpack API kiln does not implement.
type APIError struct {
	ID, Version, API string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("buildpack %s@%s: Buildpack API %q (kiln supports %s to %s)",
		e.ID, e.Version, e.API, api.Buildpack.Min, api.Buildpack.Max)
}

func (e *APIError) Unwrap() error { return ErrUnsupportedAPI }

// ExitCode is 12.
func (e *APIError) ExitCode() int { return ExitBuildpackAPI }

// PhaseError carries the generic exit code of a phase (22 detect, 52 build)
// for errors that are not a buildpack's own failure: unreadable files,
// invalid layer metadata, a launch.toml that breaks the rules.
type PhaseError struct {
	Phase string
	Err   error
}

func (e *PhaseError) Error() string { return e.Err.Error() }
func (e *PhaseError) Unwrap() error { return e.Err }

// ExitCode is 22 for detect and 52 for build.
func (e *PhaseError) ExitCode() int {
	if e.Phase == "build" {
		return ExitBuild
	}
	return ExitDetect
}

// phaseError wraps err as a generic error of phase unless it already carries
// an exit code.
func phaseError(phase string, err error) error {
	if err == nil {
		return nil
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return err
	}
	return &PhaseError{Phase: phase, Err: err}
}
