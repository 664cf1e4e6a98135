package launch

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// basicString reads "…" with TOML escapes.
func (p *tomlParser) basicString() (string, error) {
	p.pos++ // "
	var b strings.Builder
	for {
		if p.eof() {
			return "", fmt.Errorf("unterminated string")
		}
		switch c := p.src[p.pos]; c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case '\n', '\r':
			return "", fmt.Errorf("line break in a single-line string")
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
}

// literalString reads '…': no escapes at all.
func (p *tomlParser) literalString() (string, error) {
	p.pos++ // '
	end := strings.IndexAny(p.rest(), "'\n")
	if end < 0 || p.src[p.pos+end] != '\'' {
		return "", fmt.Errorf("unterminated literal string")
	}
	s := p.src[p.pos : p.pos+end]
	p.pos += end + 1
	return s, nil
}

// multilineString reads a multi-line basic string (escapes, line-ending
// backslashes) or, when quote is a single quote, a multi-line literal string
// (verbatim). A line break right after the opening delimiter is dropped, and
// up to two quotes may directly precede the closing delimiter.
func (p *tomlParser) multilineString(quote byte) (string, error) {
	p.pos += 3
	if strings.HasPrefix(p.rest(), "\r\n") {
		p.pos++
	}
	if strings.HasPrefix(p.rest(), "\n") {
		p.pos++
		p.line++
	}
	delim := strings.Repeat(string(quote), 3)
	var b strings.Builder
	for {
		if p.eof() {
			return "", fmt.Errorf("unterminated multi-line string")
		}
		if strings.HasPrefix(p.rest(), delim) {
			n := 3
			for n < 5 && p.pos+n < len(p.src) && p.src[p.pos+n] == quote {
				n++
			}
			b.WriteString(strings.Repeat(string(quote), n-3))
			p.pos += n
			return b.String(), nil
		}
		c := p.src[p.pos]
		if quote == '"' && c == '\\' {
			if p.lineEndingBackslash() {
				continue
			}
			if err := p.escape(&b); err != nil {
				return "", err
			}
			continue
		}
		if c == '\n' {
			p.line++
		}
		b.WriteByte(c)
		p.pos++
	}
}

// lineEndingBackslash skips a backslash that ends a line, together with all
// the whitespace and line breaks after it, and reports whether it did.
func (p *tomlParser) lineEndingBackslash() bool {
	i := p.pos + 1
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t') {
		i++
	}
	if i < len(p.src) && p.src[i] == '\r' {
		i++
	}
	if i >= len(p.src) || p.src[i] != '\n' {
		return false
	}
	for i < len(p.src) && strings.ContainsRune(" \t\r\n", rune(p.src[i])) {
		if p.src[i] == '\n' {
			p.line++
		}
		i++
	}
	p.pos = i
	return true
}

// escape decodes the escape sequence at p.pos (a backslash) into b.
func (p *tomlParser) escape(b *strings.Builder) error {
	if p.pos+1 >= len(p.src) {
		return fmt.Errorf("unterminated escape sequence")
	}
	c := p.src[p.pos+1]
	p.pos += 2
	simple := map[byte]byte{'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', 'e': 0x1b, '"': '"', '\\': '\\'}
	if r, ok := simple[c]; ok {
		b.WriteByte(r)
		return nil
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
	if digits == 0 {
		return fmt.Errorf("invalid escape sequence \\%c", c)
	}
	if p.pos+digits > len(p.src) {
		return fmt.Errorf("short escape sequence \\%c", c)
	}
	n, err := strconv.ParseUint(p.src[p.pos:p.pos+digits], 16, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		return fmt.Errorf("invalid escape sequence \\%c%s", c, p.src[p.pos:p.pos+digits])
	}
	p.pos += digits
	b.WriteRune(rune(n))
	return nil
}
