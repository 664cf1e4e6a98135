package lifecycle

import (
	"bytes"
	"io"
	"log/slog"
	"sort"
	"sync"
)

// mergeLabels adds labels; a later buildpack's key replaces an earlier one.
func mergeLabels(have, add []Label) []Label {
	for _, l := range add {
		replaced := false
		for i := range have {
			if have[i].Key == l.Key {
				have[i].Value, replaced = l.Value, true
			}
		}
		if !replaced {
			have = append(have, l)
		}
	}
	return have
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writerOr returns w, or io.Discard when w is nil.
func writerOr(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// lockedBuffer is a bytes.Buffer safe for a runner writing stdout and
// stderr from two goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// loggerOr returns l, or a logger that discards everything.
func loggerOr(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// Owner is a user and group as the host sees them (e.g. the CNB user mapped
// out of the build container's user namespace).
type Owner struct {
	UID, GID int
}
