package launch

import (
	"fmt"
	"strings"
)

// The launcher may use the standard library only, so it carries a small TOML
// reader instead of a TOML package. It reads the documents the launcher meets:
// <layers>/config/metadata.toml as lifecycles write it, and the NAME = "value"
// pairs exec.d executables print. Every TOML construct is parsed so that
// unknown sections (labels, slices, bom metadata, …) can be skipped safely,
// but only strings, booleans and arrays keep typed values: numbers and dates
// are kept as their raw text (tomlRaw) because nothing here needs them.

// tomlRaw is the source text of a number or date value.
type tomlRaw string

// tomlTableArray is an array of tables ([[name]] headers).
type tomlTableArray []map[string]any

// tomlParser walks src; line counts newlines for error messages.
type tomlParser struct {
	src  string
	pos  int
	line int
}

// parseTOML decodes src into nested maps whose values are string, bool,
// tomlRaw, []any, map[string]any or tomlTableArray.
func parseTOML(src string) (map[string]any, error) {
	// A byte order mark is no part of the document (some editors write
	// one; the TOML parser the lifecycle uses skips it too).
	for _, bom := range []string{"\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"} {
		if rest, ok := strings.CutPrefix(src, bom); ok {
			src = rest
			break
		}
	}
	p := &tomlParser{src: src, line: 1}
	root := map[string]any{}
	cur := root
	for {
		p.skipBlank(true)
		if p.eof() {
			return root, nil
		}
		var err error
		switch {
		case strings.HasPrefix(p.rest(), "[["):
			cur, err = p.header(root, true)
		case p.src[p.pos] == '[':
			cur, err = p.header(root, false)
		default:
			err = p.keyValue(cur)
		}
		if err == nil {
			err = p.endOfLine()
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", p.line, err)
		}
	}
}

func (p *tomlParser) eof() bool    { return p.pos >= len(p.src) }
func (p *tomlParser) rest() string { return p.src[p.pos:] }

// skipBlank skips spaces and tabs, comments and, when newlines is set, line
// breaks.
func (p *tomlParser) skipBlank(newlines bool) {
	for !p.eof() {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t':
			p.pos++
		case c == '#':
			for !p.eof() && p.src[p.pos] != '\n' {
				p.pos++
			}
		case newlines && (c == '\n' || strings.HasPrefix(p.rest(), "\r\n")):
			if c == '\r' {
				p.pos++
			}
			p.pos++
			p.line++
		default:
			return
		}
	}
}

// endOfLine accepts trailing blanks and a comment up to the line break.
func (p *tomlParser) endOfLine() error {
	p.skipBlank(false)
	switch {
	case p.eof():
		return nil
	case p.src[p.pos] == '\n':
	case strings.HasPrefix(p.rest(), "\r\n"):
		p.pos++
	default:
		return fmt.Errorf("unexpected %q after a value", p.src[p.pos])
	}
	p.pos++
	p.line++
	return nil
}

// header reads a [table] or [[array.of.tables]] header and returns the table
// that the following key/value pairs fill.
func (p *tomlParser) header(root map[string]any, array bool) (map[string]any, error) {
	open, closing := "[", "]"
	if array {
		open, closing = "[[", "]]"
	}
	p.pos += len(open)
	p.skipBlank(false)
	keys, err := p.key()
	if err != nil {
		return nil, err
	}
	p.skipBlank(false)
	if !strings.HasPrefix(p.rest(), closing) {
		return nil, fmt.Errorf("table header %q does not end with %q", strings.Join(keys, "."), closing)
	}
	p.pos += len(closing)
	parent, err := descend(root, keys[:len(keys)-1])
	if err != nil {
		return nil, err
	}
	last := keys[len(keys)-1]
	switch v := parent[last].(type) {
	case nil:
		t := map[string]any{}
		if array {
			parent[last] = tomlTableArray{t}
		} else {
			parent[last] = t
		}
		return t, nil
	case tomlTableArray:
		if !array {
			return nil, fmt.Errorf("%q is an array of tables, not a table", last)
		}
		t := map[string]any{}
		parent[last] = append(v, t)
		return t, nil
	case map[string]any:
		if array {
			return nil, fmt.Errorf("%q is a table, not an array of tables", last)
		}
		return v, nil
	default:
		return nil, fmt.Errorf("%q is already a value", last)
	}
}

// descend walks keys from t, creating tables and entering the last table of
// arrays of tables, as headers and dotted keys do.
func descend(t map[string]any, keys []string) (map[string]any, error) {
	for _, k := range keys {
		switch v := t[k].(type) {
		case nil:
			n := map[string]any{}
			t[k] = n
			t = n
		case map[string]any:
			t = v
		case tomlTableArray:
			t = v[len(v)-1]
		default:
			return nil, fmt.Errorf("%q is a value, not a table", k)
		}
	}
	return t, nil
}

// keyValue reads key = value into t.
func (p *tomlParser) keyValue(t map[string]any) error {
	keys, err := p.key()
	if err != nil {
		return err
	}
	p.skipBlank(false)
	if p.eof() || p.src[p.pos] != '=' {
		return fmt.Errorf("expected '=' after key %q", strings.Join(keys, "."))
	}
	p.pos++
	p.skipBlank(false)
	v, err := p.value()
	if err != nil {
		return fmt.Errorf("key %q: %w", strings.Join(keys, "."), err)
	}
	t, err = descend(t, keys[:len(keys)-1])
	if err != nil {
		return err
	}
	last := keys[len(keys)-1]
	if _, dup := t[last]; dup {
		return fmt.Errorf("key %q is defined twice", strings.Join(keys, "."))
	}
	t[last] = v
	return nil
}

// key reads a possibly dotted key made of bare and quoted parts.
func (p *tomlParser) key() ([]string, error) {
	var keys []string
	for {
		p.skipBlank(false)
		var k string
		var err error
		switch {
		case p.eof():
			return nil, fmt.Errorf("expected a key")
		case p.src[p.pos] == '"':
			k, err = p.basicString()
		case p.src[p.pos] == '\'':
			k, err = p.literalString()
		default:
			start := p.pos
			for !p.eof() && isBareKeyChar(p.src[p.pos]) {
				p.pos++
			}
			if start == p.pos {
				return nil, fmt.Errorf("unexpected %q where a key belongs", p.src[p.pos])
			}
			k = p.src[start:p.pos]
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		p.skipBlank(false)
		if p.eof() || p.src[p.pos] != '.' {
			return keys, nil
		}
		p.pos++
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value reads any TOML value.
func (p *tomlParser) value() (any, error) {
	if p.eof() {
		return nil, fmt.Errorf("expected a value")
	}
	switch rest := p.rest(); {
	case strings.HasPrefix(rest, `"""`):
		return p.multilineString('"')
	case strings.HasPrefix(rest, `'''`):
		return p.multilineString('\'')
	case rest[0] == '"':
		return p.basicString()
	case rest[0] == '\'':
		return p.literalString()
	case rest[0] == '[':
		return p.array()
	case rest[0] == '{':
		return p.inlineTable()
	}
	return p.scalar()
}

// array reads [v, v, …]; line breaks and comments may appear between values.
func (p *tomlParser) array() ([]any, error) {
	p.pos++ // [
	out := []any{}
	for {
		p.skipBlank(true)
		if p.eof() {
			return nil, fmt.Errorf("unterminated array")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			return out, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.skipBlank(true)
		if !p.eof() && p.src[p.pos] == ',' {
			p.pos++
		} else if p.eof() || p.src[p.pos] != ']' {
			return nil, fmt.Errorf("expected ',' or ']' in an array")
		}
	}
}

// inlineTable reads { k = v, … } (TOML 1.1 leniency: line breaks allowed).
func (p *tomlParser) inlineTable() (map[string]any, error) {
	p.pos++ // {
	t := map[string]any{}
	for {
		p.skipBlank(true)
		if p.eof() {
			return nil, fmt.Errorf("unterminated inline table")
		}
		if p.src[p.pos] == '}' {
			p.pos++
			return t, nil
		}
		if err := p.keyValue(t); err != nil {
			return nil, err
		}
		p.skipBlank(true)
		if !p.eof() && p.src[p.pos] == ',' {
			p.pos++
		} else if p.eof() || p.src[p.pos] != '}' {
			return nil, fmt.Errorf("expected ',' or '}' in an inline table")
		}
	}
}

// scalar reads true, false, or the raw text of a number or date. A date and
// a time separated by a space ("1979-05-27 07:32:00Z") form one value.
func (p *tomlParser) scalar() (any, error) {
	start := p.pos
	p.scanToken()
	if len(p.src[start:p.pos]) == 10 && strings.Count(p.src[start:p.pos], "-") == 2 &&
		strings.HasPrefix(p.rest(), " ") && len(p.rest()) > 1 && p.rest()[1] >= '0' && p.rest()[1] <= '9' {
		p.pos++
		p.scanToken()
	}
	tok := p.src[start:p.pos]
	switch {
	case tok == "true":
		return true, nil
	case tok == "false":
		return false, nil
	case tok == "":
		return nil, fmt.Errorf("unexpected %q where a value belongs", p.src[p.pos])
	case !strings.ContainsAny(tok[:1], "0123456789+-in"): // digits, signs, inf, nan
		return nil, fmt.Errorf("invalid value %q", tok)
	}
	return tomlRaw(tok), nil
}

func (p *tomlParser) scanToken() {
	for !p.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(p.src[p.pos])) {
		p.pos++
	}
}
