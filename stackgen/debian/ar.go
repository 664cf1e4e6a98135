package debian

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// arReader reads the members of a Unix ar archive, the outer format of a
// .deb: an 8-byte magic, then per member a 60-byte header and the data padded
// to an even length.
type arReader struct {
	r       *bufio.Reader
	pending int64 // unread bytes of the current member, padding included
}

const arMagic = "!<arch>\n"

func newArReader(r io.Reader) (*arReader, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != arMagic {
		return nil, fmt.Errorf("no ar magic: %w", ErrNotDeb)
	}
	return &arReader{r: br}, nil
}

// next skips the rest of the current member and returns the name and a
// reader of the next one, or io.EOF after the last.
func (a *arReader) next() (string, io.Reader, error) {
	if a.pending > 0 {
		if _, err := io.CopyN(io.Discard, a.r, a.pending); err != nil {
			return "", nil, fmt.Errorf("skipping ar member: %w", err)
		}
	}
	var hdr [60]byte
	if _, err := io.ReadFull(a.r, hdr[:]); err == io.EOF {
		return "", nil, io.EOF
	} else if err != nil {
		return "", nil, fmt.Errorf("reading ar header: %w", err)
	}
	if string(hdr[58:60]) != "`\n" {
		return "", nil, fmt.Errorf("bad ar header terminator: %w", ErrNotDeb)
	}
	name := strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/")
	size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
	if err != nil || size < 0 {
		return "", nil, fmt.Errorf("bad size in ar header of %q: %w", name, ErrNotDeb)
	}
	a.pending = size + size%2
	return name, &arMember{a: a, left: size}, nil
}

// arMember reads one member's data and keeps the archive's pending count.
type arMember struct {
	a    *arReader
	left int64
}

func (m *arMember) Read(p []byte) (int, error) {
	if m.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.a.r.Read(p)
	m.left -= int64(n)
	m.a.pending -= int64(n)
	if err == io.EOF && m.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
