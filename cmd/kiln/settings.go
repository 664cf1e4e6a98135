package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kilnbuild/kiln/oci"
)

// A setting is one value kiln takes from a flag, a KILN_* environment
// variable or the configuration file, in that order of precedence (as pack
// config does for its settings). The CLI resolves them all before a command
// runs; libraries get plain options.
type setting struct {
	key  string // the configuration file's key, e.g. "pull-policy"
	flag string // the global flag, "" when there is none
	env  string // the environment variable
	list bool   // a list: comma-separated in the environment, an array in the file
	// boolean: true or false (a TOML boolean in the file)
	boolean bool
	usage   string // for kiln config and the docs
	check   func(string) error
}

// settings are kiln's settings in the order kiln config list shows them.
var settings = []setting{
	{key: "store", flag: "store", env: "KILN_STORE", usage: "the local image store directory (default $XDG_CACHE_HOME/kiln)"},
	{key: "pull-policy", flag: "pull", env: "KILN_PULL", usage: "when images are pulled: always, if-missing (pack: if-not-present) or never",
		check: func(s string) error { _, err := oci.ParsePullPolicy(s); return err }},
	{key: "default-builder", env: "KILN_BUILDER", usage: "the builder kiln build uses without --builder (pack config default-builder)"},
	{key: "insecure-registries", flag: "insecure-registry", env: "KILN_INSECURE_REGISTRY", list: true, usage: "registry hosts (HOST[:PORT]) reached over plain HTTP"},
	{key: "registry-mirrors", flag: "registry-mirror", env: "KILN_REGISTRY_MIRROR", list: true, usage: "REGISTRY=MIRROR: pull REGISTRY's images from MIRROR (pack config registry-mirrors)",
		check: checkMirror},
	{key: "ca-certs", flag: "ca-cert", env: "KILN_CA_CERT", list: true, usage: "PEM files of certificate authorities trusted for registries, besides the system's"},
	{key: "tls-skip-verify", flag: "tls-skip-verify", env: "KILN_TLS_SKIP_VERIFY", list: true, usage: "registry hosts whose TLS certificates are not verified (unsafe; for tests)"},
	{key: "store-max-size", flag: "store-max-size", env: "KILN_STORE_MAX_SIZE", usage: "after each build, prune the store to this size, least recently used first (e.g. 20G)",
		check: func(s string) error { _, err := parseSize(s); return err }},
	{key: "store-max-age", flag: "store-max-age", env: "KILN_STORE_MAX_AGE", usage: "after each build, prune from the store what was not used for this long (e.g. 168h)",
		check: checkAge},
	{key: "verbose", flag: "verbose", env: "KILN_VERBOSE", usage: "debug output (true or false)", check: checkBool, boolean: true},
	{key: "quiet", flag: "quiet", env: "KILN_QUIET", usage: "show less output: no progress, no buildpack output (true or false)", check: checkBool, boolean: true},
	{key: "timestamps", flag: "timestamps", env: "KILN_TIMESTAMPS", usage: "prefix each output line with the time (true or false)", check: checkBool, boolean: true},
	{key: "no-color", flag: "no-color", env: "KILN_NO_COLOR", usage: "accepted for pack's sake: kiln prints no color", check: checkBool, boolean: true},
}

func settingByKey(key string) (setting, bool) {
	for _, s := range settings {
		if s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

func settingKeys() string {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key
	}
	return strings.Join(keys, ", ")
}

func checkBool(s string) error {
	switch s {
	case "true", "false", "1", "0":
		return nil
	}
	return fmt.Errorf("%q: want true or false", s)
}

func checkMirror(s string) error {
	reg, mirror, ok := strings.Cut(s, "=")
	if !ok || reg == "" || mirror == "" || strings.Contains(mirror, "/") && strings.Contains(mirror, "://") {
		return fmt.Errorf("%q: want REGISTRY=MIRROR, e.g. index.docker.io=mirror.example:5000", s)
	}
	return nil
}

// resolved is a setting's value and where it came from.
type resolved struct {
	values []string // one value, or a list
	source string   // "--flag", "KILN_X", the config file's path, or "default"
}

func (r resolved) value() string {
	if len(r.values) == 0 {
		return ""
	}
	return r.values[0]
}

// configFile is the configuration file: key → value (string or list).
type configFile struct {
	path   string
	values map[string][]string
}

// configPath is $KILN_CONFIG, else $XDG_CONFIG_HOME/kiln/config.toml, else
// ~/.config/kiln/config.toml.
func configPath() (string, error) {
	if p := os.Getenv("KILN_CONFIG"); p != "" {
		return p, nil
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "kiln", "config.toml"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the configuration file: %w (set XDG_CONFIG_HOME or KILN_CONFIG)", err)
	}
	return filepath.Join(home, ".config", "kiln", "config.toml"), nil
}

// readConfigFile reads the configuration file; a missing one is empty.
// Unknown keys and values of the wrong kind are errors naming the file.
func readConfigFile() (*configFile, error) {
	path, err := configPath()
	if err != nil {
		return nil, err
	}
	cf := &configFile{path: path, values: map[string][]string{}}
	var raw map[string]any
	_, err = toml.DecodeFile(path, &raw)
	if errors.Is(err, fs.ErrNotExist) {
		return cf, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the configuration file %s: %w (fix it, or remove it and use kiln config set)", path, err)
	}
	for key, v := range raw {
		s, ok := settingByKey(key)
		if !ok {
			return nil, fmt.Errorf("reading the configuration file %s: unknown key %q (known keys: %s)", path, key, settingKeys())
		}
		var vals []string
		switch v := v.(type) {
		case string:
			vals = []string{v}
		case bool:
			vals = []string{fmt.Sprint(v)}
		case []any:
			for _, e := range v {
				es, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("reading the configuration file %s: %s: want strings, got %v", path, key, e)
				}
				vals = append(vals, es)
			}
		case map[string]any: // registry-mirrors as a table
			names := make([]string, 0, len(v))
			for reg := range v {
				names = append(names, reg)
			}
			sort.Strings(names)
			for _, reg := range names {
				mirror, ok := v[reg].(string)
				if !ok {
					return nil, fmt.Errorf("reading the configuration file %s: %s.%s: want a string (the mirror's HOST[:PORT]), got %v", path, key, reg, v[reg])
				}
				vals = append(vals, reg+"="+mirror)
			}
		default:
			return nil, fmt.Errorf("reading the configuration file %s: %s: want a string or a list of strings, got %v", path, key, v)
		}
		if !s.list && len(vals) != 1 {
			return nil, fmt.Errorf("reading the configuration file %s: %s takes one value, not a list", path, key)
		}
		for _, val := range vals {
			if s.check != nil {
				if err := s.check(val); err != nil {
					return nil, fmt.Errorf("reading the configuration file %s: %s: %w", path, key, err)
				}
			}
		}
		cf.values[key] = vals
	}
	return cf, nil
}

// write writes the file atomically, creating its directory.
func (cf *configFile) write() error {
	out := map[string]any{}
	for key, vals := range cf.values {
		s, _ := settingByKey(key)
		switch {
		case s.list:
			out[key] = append([]string{}, vals...) // an empty list stays "key = []", not absent
		case s.boolean:
			out[key] = vals[0] == "true" || vals[0] == "1"
		default:
			out[key] = vals[0]
		}
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cf.path), 0o755); err != nil {
		return fmt.Errorf("writing the configuration file: %w", err)
	}
	tmp := cf.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing the configuration file: %w", err)
	}
	if err := os.Rename(tmp, cf.path); err != nil {
		return fmt.Errorf("writing the configuration file: %w", err)
	}
	return nil
}

// resolveSettings fills every setting from the flags (when given), the
// environment, then the file, and checks the values.
func resolveSettings(flags *pflag.FlagSet, cf *configFile) (map[string]resolved, error) {
	out := map[string]resolved{}
	for _, s := range settings {
		r, err := resolveSetting(s, flags, cf)
		if err != nil {
			return nil, err
		}
		out[s.key] = r
	}
	return out, nil
}

func resolveSetting(s setting, flags *pflag.FlagSet, cf *configFile) (resolved, error) {
	check := func(r resolved) (resolved, error) {
		if s.check == nil {
			return r, nil
		}
		for _, v := range r.values {
			if err := s.check(v); err != nil {
				return r, fmt.Errorf("%s: %w", r.source, err)
			}
		}
		return r, nil
	}
	if s.flag != "" {
		if f := flags.Lookup(s.flag); f != nil && f.Changed {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				return check(resolved{values: sv.GetSlice(), source: "--" + s.flag})
			}
			return check(resolved{values: []string{f.Value.String()}, source: "--" + s.flag})
		}
	}
	if v, ok := os.LookupEnv(s.env); ok && v != "" {
		vals := []string{v}
		if s.list {
			vals = splitList(v)
		}
		return check(resolved{values: vals, source: s.env})
	}
	if vals, ok := cf.values[s.key]; ok {
		return resolved{values: vals, source: cf.path}, nil
	}
	return resolved{source: "default"}, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// applySettings resolves the settings into g before a command runs.
func (g *globalFlags) applySettings(cmd *cobra.Command) error {
	cf, err := readConfigFile()
	if err != nil {
		return err
	}
	r, err := resolveSettings(cmd.Flags(), cf)
	if err != nil {
		return err
	}
	g.settings, g.configFile = r, cf
	g.store = r["store"].value()
	g.pull = r["pull-policy"].value()
	if g.pull == "" {
		g.pull = "if-missing"
	}
	g.insecure = r["insecure-registries"].values
	g.mirrors = map[string]string{}
	if p, err := oci.ParsePullPolicy(g.pull); err == nil && p.String() != g.pull {
		g.pull = p.String() // pack's if-not-present is kiln's if-missing
		pp := r["pull-policy"]
		pp.values = []string{g.pull}
		r["pull-policy"] = pp
	}
	for _, m := range r["registry-mirrors"].values {
		reg, mirror, _ := strings.Cut(m, "=")
		g.mirrors[reg] = mirror
	}
	g.caCerts = r["ca-certs"].values
	g.skipVerify = r["tls-skip-verify"].values
	g.defaultBuilder = r["default-builder"].value()
	g.storeMaxSize, g.storeMaxAge = r["store-max-size"].value(), r["store-max-age"].value()
	isTrue := func(k string) bool { v := r[k].value(); return v == "true" || v == "1" }
	g.verbose, g.quiet, g.timestamps = isTrue("verbose"), isTrue("quiet"), isTrue("timestamps")
	return nil
}
