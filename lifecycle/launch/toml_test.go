package launch

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseTOML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
	}{{
		name: "escapes as BurntSushi/toml writes them",
		in:   `a = "q\" b\\ t\t n\n u\u0001 é \u007f"` + "\n",
		want: map[string]any{"a": "q\" b\\ t\t n\n u\x01 é \x7f"},
	}, {
		name: "all escapes",
		in:   `a = "\b\f\r\e\x41\U0001F600"`,
		want: map[string]any{"a": "\b\f\r\x1bA😀"},
	}, {
		name: "literal strings and quoted keys",
		in:   "'k 1' = 'C:\\x\"y'\n\"k.2\" = \"v\"",
		want: map[string]any{"k 1": `C:\x"y`, "k.2": "v"},
	}, {
		name: "multi-line strings",
		in:   "a = \"\"\"\nline1\n  \\\n   joined\"\"\"\nb = '''\n raw \\n ''''\nc = \"\"\"x\"\"\"\"\"",
		want: map[string]any{"a": "line1\n  joined", "b": " raw \\n '", "c": `x""`},
	}, {
		name: "comments, blank lines, CRLF",
		in:   "# top\r\n\r\na = true # trailing\r\nb = false\r\n",
		want: map[string]any{"a": true, "b": false},
	}, {
		name: "arrays over several lines with comments and a trailing comma",
		in:   "a = [\n  \"x\", # one\n  \"y\",\n]\nb = []\nc = [[1, 2], [\"s\"]]",
		want: map[string]any{
			"a": []any{"x", "y"}, "b": []any{},
			"c": []any{[]any{tomlRaw("1"), tomlRaw("2")}, []any{"s"}},
		},
	}, {
		name: "numbers and dates stay raw",
		in:   "i = -42\nf = 6.02e23\nh = 0xff\nd = 1979-05-27 07:32:00Z\nt = 07:32:00\ninf = inf",
		want: map[string]any{
			"i": tomlRaw("-42"), "f": tomlRaw("6.02e23"), "h": tomlRaw("0xff"),
			"d": tomlRaw("1979-05-27 07:32:00Z"), "t": tomlRaw("07:32:00"), "inf": tomlRaw("inf"),
		},
	}, {
		name: "tables, dotted keys, inline tables, arrays of tables",
		in: "top = \"t\"\n[[bom]]\n  name = \"n\"\n  [bom.metadata]\n    v = { x = 1, y.z = \"w\" }\n" +
			"[[bom]]\nname = \"m\"\n[a.b]\nc.d = \"e\"\n",
		want: map[string]any{
			"top": "t",
			"bom": tomlTableArray{
				{"name": "n", "metadata": map[string]any{"v": map[string]any{"x": tomlRaw("1"), "y": map[string]any{"z": "w"}}}},
				{"name": "m"},
			},
			"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": "e"}}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTOML(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTOMLErrors(t *testing.T) {
	for _, in := range []string{
		`a = "unterminated`,
		"a = \"line\nbreak\"",
		`a = "\q"`,
		`a = "\u12"`,
		`a = "\uD800"`,
		"a = 1\na = 2",
		"a = 'x' b = 'y'",
		"a",
		"a = ",
		"a = [1, 2",
		"a = [1 2]",
		"a = {x = 1",
		"[t\nx = 1",
		"[[t]]\n[t]",
		"[t]\n[[t]]",
		"a = 1\n[a]",
		"a = bogus",
		"a = '''never closed",
	} {
		if got, err := parseTOML(in); err == nil {
			t.Errorf("parseTOML(%q) = %v, want an error", in, got)
		}
	}
}
