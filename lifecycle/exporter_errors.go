package lifecycle

import "errors"

// ExitExport is the CNB exit code of a failed export.
const ExitExport = 62

// Sentinels of the export phase, for errors.Is.
var (
	// ErrProcessTypeNotFound means the requested default process type is
	// not one of the build's processes.
	ErrProcessTypeNotFound = errors.New("process type not found")
	// ErrLayerNotReusable means a launch layer has no directory and the
	// previous image cannot supply it: it is cache=true, or the previous
	// image has no such layer.
	ErrLayerNotReusable = errors.New("launch layer has no contents and cannot be reused")
)

// ExportError is any error of Exporter.Run; it carries exit code 62.
type ExportError struct {
	Err error
}

func (e *ExportError) Error() string { return "exporting: " + e.Err.Error() }
func (e *ExportError) Unwrap() error { return e.Err }

// ExitCode is 62.
func (e *ExportError) ExitCode() int { return ExitExport }
