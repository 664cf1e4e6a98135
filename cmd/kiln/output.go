package main

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// timestampWriter prefixes every line written through it with the time the
// line started, as pack --timestamps does.
type timestampWriter struct {
	mu     sync.Mutex
	w      io.Writer
	midRow bool // the last write did not end a line
	now    func() time.Time
}

func newTimestampWriter(w io.Writer) *timestampWriter {
	return &timestampWriter{w: w, now: time.Now}
}

func (t *timestampWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b bytes.Buffer
	for rest := p; len(rest) > 0; {
		if !t.midRow {
			b.WriteString(t.now().Format("2006/01/02 15:04:05.000000 "))
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			b.Write(rest)
			t.midRow = true
			break
		}
		b.Write(rest[:i+1])
		rest = rest[i+1:]
		t.midRow = false
	}
	if _, err := t.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Fd lets the progress printer see the terminal behind the writer.
func (t *timestampWriter) Unwrap() io.Writer { return t.w }
