package sandbox

import (
	"io"
	"sync"

	"github.com/sirupsen/logrus"
)

var quietOnce sync.Once

// quietLogrus silences libcontainer's logrus output: its warnings go to
// the process's stderr, which kiln does not own. Errors that matter come
// back as Go errors.
func quietLogrus() {
	quietOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.ErrorLevel)
	})
}
