package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// TreeObserver is told each entry TreeAtObserved writes, file contents
// included as they are read for the layer: one read of a tree then serves
// the layer and, say, a fingerprint of it.
type TreeObserver interface {
	Dir(name string, mode fs.FileMode, uid, gid int) error
	// File returns where the file's size bytes of content go.
	File(name string, mode fs.FileMode, uid, gid int, size int64) (io.Writer, error)
	Symlink(name, target string, uid, gid int) error
	Hardlink(name, target string, mode fs.FileMode, uid, gid int) error
	Device(name string, mode fs.FileMode, uid, gid int, rdev uint64) error
}

// TreeAtObserved is TreeAt, telling obs every entry it writes, in order,
// with what the walker gives a TreeSink (the layer's own walker: hard links
// are kept across the layer's trees as with TreeAt).
func (w *LayerWriter) TreeAtObserved(ctx context.Context, dir *beneath.Dir, dst string, uid, gid int, obs TreeObserver) error {
	if err := w.usable(); err != nil {
		return err
	}
	if w.opts.Parents {
		w.err = errors.New("LayerOptions.Parents takes the parents from paths: use Tree")
		return w.err
	}
	if err := w.t.walker.WalkAt(ctx, dir, dst, uid, gid, observedSink{tarSink{w.t}, obs}); err != nil {
		w.err = fmt.Errorf("adding tree %s as %q: %w", dir.Name(), dst, err)
		return w.err
	}
	return nil
}

// observedSink writes entries into the layer and tells an observer.
type observedSink struct {
	tar tarSink
	obs TreeObserver
}

func (s observedSink) Dir(name string, mode fs.FileMode, uid, gid int) error {
	if err := s.obs.Dir(name, mode, uid, gid); err != nil {
		return err
	}
	return s.tar.Dir(name, mode, uid, gid)
}

func (s observedSink) File(name string, mode fs.FileMode, uid, gid int, size int64, r io.Reader) error {
	ow, err := s.obs.File(name, mode, uid, gid, size)
	if err != nil {
		return err
	}
	return s.tar.File(name, mode, uid, gid, size, io.TeeReader(r, ow))
}

func (s observedSink) Symlink(name, target string, uid, gid int) error {
	if err := s.obs.Symlink(name, target, uid, gid); err != nil {
		return err
	}
	return s.tar.Symlink(name, target, uid, gid)
}

func (s observedSink) Hardlink(name, target string, mode fs.FileMode, uid, gid int) error {
	if err := s.obs.Hardlink(name, target, mode, uid, gid); err != nil {
		return err
	}
	return s.tar.Hardlink(name, target, mode, uid, gid)
}

func (s observedSink) Device(name string, mode fs.FileMode, uid, gid int, rdev uint64) error {
	if err := s.obs.Device(name, mode, uid, gid, rdev); err != nil {
		return err
	}
	return s.tar.Device(name, mode, uid, gid, rdev)
}
