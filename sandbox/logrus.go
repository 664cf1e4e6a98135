package sandbox

import (
	"io"
	"sync"

	"github.com/sirupsen/logrus"
)

var quietOnce sync.Once

// quietLogrus silences the logrus output of runc's seccomp package: its
// warnings would go to
// the process's stderr, which kiln does not own. Errors that matter come
// back as Go errors.
func quietLogrus() {
	quietOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.ErrorLevel)
	})
}
