package project

import (
	"errors"
	"testing"
)

func TestPatterns(t *testing.T) {
	type probe struct {
		path  string
		dir   bool
		match bool
	}
	tests := []struct {
		name     string
		patterns []string
		probes   []probe
	}{{
		name:     "name at any depth",
		patterns: []string{"foo"},
		probes: []probe{
			{"foo", false, true}, {"a/foo", false, true}, {"a/b/foo", true, true},
			{"foobar", false, false}, {"a/foo/x", false, true}, {"afoo", false, false},
		},
	}, {
		name:     "star stays in one element",
		patterns: []string{"*.go"},
		probes: []probe{
			{"main.go", false, true}, {"cmd/main.go", false, true}, {"main.gox", false, false},
			{"main_go", false, false},
		},
	}, {
		name:     "anchored with a middle slash",
		patterns: []string{"doc/*.md"},
		probes: []probe{
			{"doc/a.md", false, true}, {"x/doc/a.md", false, false}, {"doc/sub/a.md", false, false},
		},
	}, {
		name:     "leading slash anchors",
		patterns: []string{"/build"},
		probes: []probe{
			{"build", true, true}, {"build/out", false, true}, {"src/build", true, false},
		},
	}, {
		name:     "trailing slash matches directories only",
		patterns: []string{"logs/"},
		probes: []probe{
			{"logs", true, true}, {"logs", false, false}, {"a/logs", true, true}, {"logs/x.log", false, true},
			{"a/logs/x", false, true},
		},
	}, {
		name:     "leading double star",
		patterns: []string{"**/tmp"},
		probes: []probe{
			{"tmp", true, true}, {"a/tmp", false, true}, {"a/b/tmp", false, true}, {"a/tmpx", false, false},
		},
	}, {
		name:     "trailing double star",
		patterns: []string{"abc/**"},
		probes: []probe{
			{"abc", true, false}, {"abc/x", false, true}, {"abc/x/y", false, true}, {"x/abc/y", false, false},
		},
	}, {
		name:     "middle double star",
		patterns: []string{"a/**/b"},
		probes: []probe{
			{"a/b", false, true}, {"a/x/b", false, true}, {"a/x/y/b", false, true}, {"a/x/c", false, false},
			{"b", false, false},
		},
	}, {
		name:     "negation",
		patterns: []string{"*.md", "!README.md"},
		probes: []probe{
			{"CHANGES.md", false, true}, {"README.md", false, false}, {"docs/README.md", false, false},
			{"docs/x.md", false, true},
		},
	}, {
		name:     "negation cannot re-include inside a matched directory",
		patterns: []string{"docs/", "!docs/keep.md"},
		probes: []probe{
			{"docs", true, true}, {"docs/keep.md", false, true},
		},
	}, {
		name:     "re-include a directory",
		patterns: []string{"/*", "!/src"},
		probes: []probe{
			{"README", false, true}, {"src", true, false}, {"src/main.go", false, false}, {"vendor/x", false, true},
		},
	}, {
		name:     "order matters",
		patterns: []string{"!a.txt", "*.txt"},
		probes:   []probe{{"a.txt", false, true}},
	}, {
		name:     "comments blanks escapes and spaces",
		patterns: []string{"# comment", "", "   ", `\#hash`, `\!bang`, "trail   ", `space\ `},
		probes: []probe{
			{"# comment", false, false}, {"#hash", false, true}, {"!bang", false, true},
			{"trail", false, true}, {"space ", false, true}, {"space", false, false},
		},
	}, {
		name:     "question mark and classes",
		patterns: []string{"file?.txt", "[!a]b", "[0-9]*.log"},
		probes: []probe{
			{"file1.txt", false, true}, {"file10.txt", false, false}, {"file/.txt", false, false},
			{"xb", false, true}, {"ab", false, false}, {"7.log", false, true}, {"x.log", false, false},
		},
	}, {
		name:     "double star alone",
		patterns: []string{"**"},
		probes:   []probe{{"a", false, true}, {"a/b", true, true}},
	}, {
		name:     "no patterns",
		patterns: nil,
		probes:   []probe{{"a", false, false}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := CompilePatterns(tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range tt.probes {
				if got := p.Match(pr.path, pr.dir); got != pr.match {
					t.Errorf("%q.Match(%q, dir=%v) = %v, want %v", tt.patterns, pr.path, pr.dir, got, pr.match)
				}
			}
		})
	}
}

func TestCompilePatternsBad(t *testing.T) {
	if _, err := CompilePatterns([]string{"ok", "[a-"}); !errors.Is(err, ErrBadPattern) {
		t.Errorf("error %v, want ErrBadPattern", err)
	}
}
