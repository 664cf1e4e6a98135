// Package tomlkeys names the keys of a TOML document that decoding did not
// use, for the "unknown keys" errors and warnings of the configuration
// readers: only the leaves are named (an unknown table [a] holding b is
// reported as a.b, not as a and a.b).
package tomlkeys

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// Undecoded returns the undecoded keys of md, leaves only: "a.b" hides its
// parent "a".
func Undecoded(md toml.MetaData) []string {
	var keys []string
	all := md.Undecoded()
	for i, k := range all {
		s := k.String()
		if i+1 < len(all) && strings.HasPrefix(all[i+1].String(), s+".") {
			continue
		}
		keys = append(keys, s)
	}
	return keys
}
