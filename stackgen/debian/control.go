package debian

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Paragraph is one stanza of a deb822 control file: field names as written
// (case preserved) to their values, continuation lines joined with "\n".
type Paragraph map[string]string

// Get returns the value of field name, matched case-insensitively as deb822
// requires.
func (p Paragraph) Get(name string) string {
	if v, ok := p[name]; ok {
		return v
	}
	for k, v := range p {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// ReadParagraphs calls fn for each paragraph of a deb822 stream (a Packages
// index, a control file, a .sources file). Comment lines starting with '#'
// are skipped. When keep is non-nil only the fields it names (canonical
// capitalisation, as in "Pre-Depends") are stored, which keeps parsing a
// large index cheap.
func ReadParagraphs(r io.Reader, keep map[string]bool, fn func(Paragraph) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	p := Paragraph{}
	var last string // the field continuation lines belong to, "" when dropped
	line := 0
	flush := func() error {
		if len(p) == 0 {
			return nil
		}
		err := fn(p)
		p, last = Paragraph{}, ""
		return err
	}
	for sc.Scan() {
		line++
		b := sc.Bytes()
		switch {
		case len(bytes.TrimSpace(b)) == 0:
			if err := flush(); err != nil {
				return err
			}
		case b[0] == '#':
		case b[0] == ' ' || b[0] == '\t':
			if last != "" {
				p[last] += "\n" + strings.TrimSpace(string(b))
			}
		default:
			i := bytes.IndexByte(b, ':')
			if i <= 0 {
				return fmt.Errorf("line %d: not a field: %q", line, truncate(string(b), 60))
			}
			name := string(b[:i])
			if keep != nil && !keep[name] {
				last = ""
				continue
			}
			p[name] = strings.TrimSpace(string(b[i+1:]))
			last = name
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line, err)
	}
	return flush()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
