package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// DefaultMaxUnpackSize is the unpack size cap when UnpackOptions.MaxSize is
// 0: 64 GiB of file content, more than any image seen in practice, and
// reached in about five seconds by the holes of a sparse file.
const DefaultMaxUnpackSize int64 = 64 << 30

// holeChunk is the granularity at which runs of zeros become holes. The
// tar reader gives a sparse entry's holes as zeros; writing them would
// turn a 1 KiB layer into gigabytes of real blocks.
const holeChunk = 64 << 10

var zeroChunk [holeChunk]byte

// limit returns the cap on file content of one unpack (<0: none).
func (o UnpackOptions) limit() int64 {
	if o.MaxSize == 0 {
		return DefaultMaxUnpackSize
	}
	return o.MaxSize
}

// reserve counts size bytes of file content against the unpack's cap
// before any of them is written.
func (u *unpacker) reserve(size int64) error {
	limit := u.opts.limit()
	if limit < 0 {
		return nil
	}
	if size > limit-u.written {
		return fmt.Errorf("%d bytes more of file content, past the cap of %d bytes for one unpack (UnpackOptions.MaxSize; %d written so far): %w",
			size, limit, u.written, ErrUnpackTooLarge)
	}
	u.written += size
	return nil
}

func (u *unpacker) file(ctx context.Context, target string, hdr *tar.Header, r io.Reader) error {
	if err := u.reserve(hdr.Size); err != nil {
		return err
	}
	if _, err := u.replace(target, false); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	err = u.writeSparse(ctx, f, r, hdr.Size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return u.meta(target, hdr)
}

// writeSparse copies the size bytes of r into f, leaving a hole for every
// aligned chunk of zeros: the content is the same, the blocks are only
// those of the data. It checks ctx between chunks, so that even a file
// of holes the cap lets through can be cancelled.
func (u *unpacker) writeSparse(ctx context.Context, f *os.File, r io.Reader, size int64) error {
	if u.buf == nil {
		u.buf = make([]byte, holeChunk)
	}
	var off, hole int64 // hole: zeros read and not yet written (a pending seek)
	for n := 0; off < size; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		k, err := io.ReadFull(r, u.buf[:min(int64(holeChunk), size-off)])
		if err != nil {
			return fmt.Errorf("reading content at offset %d: %w", off, err)
		}
		off += int64(k)
		if bytes.Equal(u.buf[:k], zeroChunk[:k]) {
			hole += int64(k)
			continue
		}
		if hole > 0 {
			if _, err := f.Seek(hole, io.SeekCurrent); err != nil {
				return err
			}
			hole = 0
		}
		if _, err := f.Write(u.buf[:k]); err != nil {
			return err
		}
	}
	if hole > 0 {
		// The file ends in a hole: the size makes it.
		return f.Truncate(size)
	}
	return nil
}
