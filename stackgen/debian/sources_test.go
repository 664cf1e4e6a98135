package debian

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseSources(t *testing.T) {
	tests := []struct {
		name, text string
		want       []Source
	}{{
		name: "debian.sources",
		text: `Types: deb
# a comment
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://a.invalid/x http://b.invalid/x
Suites: ./
Architectures: arm64
Trusted: yes

Types: deb
Enabled: no
URIs: http://off.invalid
Suites: x
`,
		want: []Source{
			{URI: "http://deb.debian.org/debian", Suites: []string{"bookworm", "bookworm-updates"}, Components: []string{"main"},
				SignedBy: "/usr/share/keyrings/debian-archive-keyring.gpg"},
			{URI: "http://a.invalid/x", Suites: []string{"./"}, Architectures: []string{"arm64"}, Trusted: true},
			{URI: "http://b.invalid/x", Suites: []string{"./"}, Architectures: []string{"arm64"}, Trusted: true},
		},
	}, {
		name: "sources.list",
		text: `# comment
deb http://deb.debian.org/debian bookworm main contrib
deb-src http://deb.debian.org/debian bookworm main
deb [arch=amd64,arm64 signed-by=/k.gpg] https://repo.invalid/apt stable main # trailing
deb [ trusted=yes ] file:/srv/repo ./
`,
		want: []Source{
			{URI: "http://deb.debian.org/debian", Suites: []string{"bookworm"}, Components: []string{"main", "contrib"}},
			{URI: "https://repo.invalid/apt", Suites: []string{"stable"}, Components: []string{"main"},
				Architectures: []string{"amd64", "arm64"}, SignedBy: "/k.gpg"},
			{URI: "file:/srv/repo", Suites: []string{"./"}, Components: []string{}, Trusted: true},
		},
	}}
	for _, tt := range tests {
		got, err := ParseSources(tt.name, strings.NewReader(tt.text))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, err := ParseSources("bad.sources", strings.NewReader("Types: deb\nSuites: x\n")); err == nil || !strings.Contains(err.Error(), "bad.sources") {
		t.Errorf("missing URIs: err = %v, want an error naming the file", err)
	}
}
