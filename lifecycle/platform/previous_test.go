package platform

import (
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestPreviousMissing tells "no previous image yet" from one that cannot
// be read: a registry's 404 for the tag is the first build's normal case,
// a 401 is not.
func TestPreviousMissing(t *testing.T) {
	notFound := fmt.Errorf("reading: %w", &transport.Error{StatusCode: http.StatusNotFound,
		Errors: []transport.Diagnostic{{Code: transport.ManifestUnknownErrorCode}}})
	denied := fmt.Errorf("reading: %w", &transport.Error{StatusCode: http.StatusUnauthorized})
	layout := "oci:" + filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		ref  string
		err  error
		want bool
	}{
		{"127.0.0.1:5000/app:1", notFound, true},
		{"127.0.0.1:5000/app:1", denied, false},
		{layout, fmt.Errorf("opening: %w", fs.ErrNotExist), true},
	} {
		if got := previousMissing(tc.ref, tc.err); got != tc.want {
			t.Errorf("previousMissing(%s, %v) = %v, want %v", tc.ref, tc.err, got, tc.want)
		}
	}
}
