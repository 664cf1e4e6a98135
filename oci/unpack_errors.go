package oci

import "errors"

// Sentinels of unpacking and layer writing. They live apart from errors.go
// because the reading and writing half of the package is kept by other hands.
var (
	// ErrUnsafePath is returned for a tar entry whose name or link target
	// would reach outside the directory being unpacked into (a ".." that
	// climbs above the root), or for a whiteout naming "." or "..".
	ErrUnsafePath = errors.New("path escapes the target directory")
	// ErrUnsupportedEntry is returned for a tar entry of a type that cannot
	// be unpacked or written (sockets, unknown type flags).
	ErrUnsupportedEntry = errors.New("unsupported tar entry")
	// ErrUnpackTooLarge is returned when the file content of an unpack
	// would pass UnpackOptions.MaxSize.
	ErrUnpackTooLarge = errors.New("unpack size cap exceeded")
	// ErrLayerFinished is returned by LayerWriter methods called after Layer
	// or Abort.
	ErrLayerFinished = errors.New("layer writer already finished")
)
