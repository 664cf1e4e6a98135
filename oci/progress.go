package oci

import (
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Phase names what a Progress event is about.
type Phase int

const (
	// PhasePull is a blob being fetched from a registry into the store.
	PhasePull Phase = iota
	// PhasePush is an image being uploaded to a registry.
	PhasePush
	// PhaseWrite is an image being written to a layout or an archive.
	PhaseWrite
	// PhaseUnpack is an image's layers being unpacked into a directory.
	PhaseUnpack
	// PhaseLayer is a layer being tarred and compressed (LayerOptions.Progress):
	// Complete counts the tar bytes so far.
	PhaseLayer
)

// String returns "pull", "push", "write" or "unpack".
func (p Phase) String() string {
	switch p {
	case PhasePush:
		return "push"
	case PhaseWrite:
		return "write"
	case PhaseUnpack:
		return "unpack"
	case PhaseLayer:
		return "layer"
	}
	return "pull"
}

// Progress is one progress event of a transfer.
type Progress struct {
	Phase Phase
	Ref   string  // the reference being transferred
	Blob  v1.Hash // the blob in flight (zero for whole-image events of a push)
	// Complete and Total count bytes: of Blob when it is set, of the whole
	// image otherwise. Total is 0 when unknown.
	Complete, Total int64
	Done            bool // the blob (or the image) is finished
	// Present: the destination already had Blob (or, with no Blob, the
	// whole image), so nothing was sent: a push's HEAD answered 200.
	Present bool
}

// progressReader reports bytes read through it as Progress events.
type progressReader struct {
	r     io.Reader
	event Progress
	fn    func(Progress)
	next  int64 // report again when Complete reaches this
}

// progressEvery is the granularity of progress reports.
const progressEvery = 256 << 10

func newProgressReader(r io.Reader, event Progress, fn func(Progress)) *progressReader {
	fn(event)
	return &progressReader{r: r, event: event, fn: fn, next: progressEvery}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.event.Complete += int64(n)
	if p.event.Complete >= p.next {
		p.fn(p.event)
		p.next = p.event.Complete + progressEvery
	}
	if err == io.EOF {
		p.event.Done = true
		p.fn(p.event)
	}
	return n, err
}
