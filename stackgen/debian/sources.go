package debian

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Source is one apt repository: a URI, the suites (distributions) to read
// and their components. A suite ending in "/" names a flat repository, whose
// index sits directly under URI/suite and which has no components.
type Source struct {
	URI        string   // http://, https:// or file:/path
	Suites     []string // e.g. "bookworm", "bookworm-updates"
	Components []string // e.g. "main"
	// Architectures restricts the source to these architectures (apt's
	// arch= / Architectures:); empty means any.
	Architectures []string
	// SignedBy is the keyring that signs the source's InRelease: a path to
	// an OpenPGP keyring file (binary or armored) or an armored key block.
	SignedBy string
	// Trusted skips the signature check, as apt's trusted=yes does.
	Trusted bool
	// Optional makes a failure to read the source's indexes skip the source
	// (reported through WithSkipped) instead of failing LoadIndex, as apt
	// carries on past an unreachable repository. The CLI sets it for the
	// machine's own sources.
	Optional bool
}

// ParseSources parses an apt source list. name is used in errors and picks
// the format: a name ending in ".sources" is deb822 (sources.list.d/*.sources),
// anything else is the one-line format of sources.list. deb-src entries and
// disabled ones (Enabled: no) are left out.
func ParseSources(name string, r io.Reader) ([]Source, error) {
	var (
		srcs []Source
		err  error
	)
	if strings.HasSuffix(name, ".sources") {
		srcs, err = parseDeb822Sources(r)
	} else {
		srcs, err = parseOneLineSources(r)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing apt sources %s: %w", name, err)
	}
	return srcs, nil
}

func parseDeb822Sources(r io.Reader) ([]Source, error) {
	var srcs []Source
	err := ReadParagraphs(r, nil, func(p Paragraph) error {
		if strings.EqualFold(p.Get("Enabled"), "no") {
			return nil
		}
		if !hasWord(p.Get("Types"), "deb") {
			return nil
		}
		uris := strings.Fields(p.Get("URIs"))
		suites := strings.Fields(p.Get("Suites"))
		if len(uris) == 0 || len(suites) == 0 {
			return fmt.Errorf("a deb entry needs URIs and Suites")
		}
		for _, u := range uris {
			srcs = append(srcs, Source{
				URI:           u,
				Suites:        suites,
				Components:    strings.Fields(p.Get("Components")),
				Architectures: strings.Fields(p.Get("Architectures")),
				SignedBy:      strings.TrimSpace(p.Get("Signed-By")),
				Trusted:       strings.EqualFold(p.Get("Trusted"), "yes"),
			})
		}
		return nil
	})
	return srcs, err
}

func parseOneLineSources(r io.Reader) ([]Source, error) {
	var srcs []Source
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "deb" {
			continue
		}
		fields = fields[1:]
		var s Source
		if len(fields) > 0 && strings.HasPrefix(fields[0], "[") {
			opts := []string{}
			for len(fields) > 0 {
				f := fields[0]
				fields = fields[1:]
				opts = append(opts, strings.Trim(f, "[]"))
				if strings.HasSuffix(f, "]") {
					break
				}
			}
			for _, o := range opts {
				k, v, _ := strings.Cut(o, "=")
				switch k {
				case "arch":
					s.Architectures = strings.Split(v, ",")
				case "signed-by":
					s.SignedBy = v
				case "trusted":
					s.Trusted = v == "yes"
				}
			}
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("line %d: a deb line needs a URI and a suite", n)
		}
		s.URI, s.Suites, s.Components = fields[0], []string{fields[1]}, fields[2:]
		srcs = append(srcs, s)
	}
	return srcs, sc.Err()
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// armored reports whether SignedBy holds a key block rather than a path.
func armored(signedBy string) bool {
	return bytes.Contains([]byte(signedBy), []byte("-----BEGIN PGP"))
}
