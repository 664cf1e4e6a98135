package main

import (
	"strings"
	"testing"
)

// TestFlagCompletion: the shell completes the values of flags that take one
// of a few words (cobra's __complete is what the completion scripts call).
func TestFlagCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"build", "--network", ""}, []string{"host", "none"}},
		{[]string{"run", "--network", ""}, []string{"host", "none"}},
		{[]string{"build", "--pull", ""}, []string{"always", "if-missing", "never"}},
		{[]string{"build", "--pull-policy", ""}, []string{"always", "if-not-present", "never"}},
		{[]string{"buildpack", "package", "x.cnb", "--format", ""}, []string{"file", "image"}},
		{[]string{"build", "--sandbox", ""}, []string{"auto", "namespaces", "none"}},
		{[]string{"run", "--sandbox", ""}, []string{"auto", "namespaces", "none"}},
		{[]string{"inspect", "-o", ""}, []string{"human-readable", "json", "yaml", "toml"}},
		{[]string{"config", "set", ""}, []string{"store", "pull-policy", "default-builder"}},
	} {
		out, errOut, code := kilnImage(t, append([]string{"__complete"}, tc.args...)...)
		if code != 0 {
			t.Errorf("completing %v: exit %d\n%s", tc.args, code, errOut)
			continue
		}
		var got []string
		for _, l := range strings.Split(out, "\n") {
			if v, _, _ := strings.Cut(l, "\t"); v != "" && !strings.HasPrefix(v, ":") {
				got = append(got, v)
			}
		}
		for _, w := range tc.want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("completing %v: %q not offered (got %v)", tc.args, w, got)
			}
		}
	}
}
