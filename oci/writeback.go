package oci

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackEvery is how much a blob being written may run ahead of the
// writeback kiln starts for it.
const writebackEvery = 8 << 20

// writeback writes to f and, every writebackEvery bytes, asks the kernel
// to start writing the new range to disk (sync_file_range, WRITE only: it
// does not wait). The disk then works while kiln still compresses or
// copies, and the fsync that makes the blob durable before its rename
// waits only for the tail. It is a hint: its errors are ignored, and the
// fsync is what guarantees anything.
type writeback struct {
	f       *os.File
	off     int64 // bytes written through it
	started int64 // bytes writeback was started for
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.wrote(int64(n))
	return n, err
}

// wrote accounts for n bytes written to f at the current end.
func (w *writeback) wrote(n int64) {
	w.off += n
	if w.off-w.started >= writebackEvery {
		_ = unix.SyncFileRange(int(w.f.Fd()), w.started, w.off-w.started, unix.SYNC_FILE_RANGE_WRITE)
		w.started = w.off
	}
}
