package appimage

import "errors"

// ExitRebase is the CNB exit code of a failed rebase.
const ExitRebase = 72

// Sentinels of the rebase phase, for errors.Is. The check failures
// (ErrNotRebasable, ErrTargetMismatch, ErrRunImageNotRecorded,
// ErrStackMismatch, ErrMixinsMissing) become warnings with Rebaser.Force.
var (
	// ErrNotRebasable means the app image is labelled
	// io.buildpacks.rebasable=false.
	ErrNotRebasable = errors.New("the app image is not rebasable (io.buildpacks.rebasable=false)")
	// ErrTargetMismatch means the new run image's os, architecture,
	// variant or distribution differ from the app image's.
	ErrTargetMismatch = errors.New("the new run image does not fit the app image's target")
	// ErrRunImageNotRecorded means the new run image's name is not one the
	// app image recorded (runImage.image, its mirrors or stack.runImage).
	ErrRunImageNotRecorded = errors.New("the new run image is not one the app image was built for")
	// ErrStackMismatch means the stack IDs of the app image and the new run
	// image differ (app images of Platform API below 0.12).
	ErrStackMismatch = errors.New("the new run image belongs to another stack")
	// ErrMixinsMissing means the new run image lacks mixins the app image
	// has (app images of Platform API below 0.12).
	ErrMixinsMissing = errors.New("the new run image lacks mixins of the app image")
	// ErrNoRebaseMetadata means the app image has no
	// io.buildpacks.lifecycle.metadata label, or one without
	// runImage.topLayer, or a top layer that is not one of its layers.
	ErrNoRebaseMetadata = errors.New("the app image has no usable run image metadata")
	// ErrNoRunImage means no new run image was given and the app image
	// records none.
	ErrNoRunImage = errors.New("no run image given or recorded")
)

// RebaseError is any error of Rebaser.Run; it carries exit code 72.
type RebaseError struct {
	Err error
}

func (e *RebaseError) Error() string { return "rebasing: " + e.Err.Error() }
func (e *RebaseError) Unwrap() error { return e.Err }

// ExitCode is 72.
func (e *RebaseError) ExitCode() int { return ExitRebase }
