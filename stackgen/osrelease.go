package stackgen

import (
	"strconv"
	"strings"
)

// parseOSRelease reads the KEY=value lines of os-release(5), unquoting
// values.
func parseOSRelease(b []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		k, val, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if u, err := strconv.Unquote(val); err == nil {
			val = u
		} else {
			val = strings.Trim(val, `"'`)
		}
		out[k] = val
	}
	return out
}
