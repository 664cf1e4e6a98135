package stackgen

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/stackgen/debian"
)

// Config is the stack.toml file. Relative paths in it (rootfs: bases,
// file: repositories, keyrings) are relative to the file's directory.
//
//	id = "io.example.stacks.python"   # required
//	uid = 1000                        # default 1000
//	gid = 1000                        # default 1000
//	user-name = "cnb"                 # default: the base's user with that UID, else "cnb"
//	group-name = "cnb"                # default: the base's group with that GID, else user-name
//
//	[build]
//	base = "rootfs:bookworm.tar"      # image reference, rootfs:PATH, or absent
//	packages = ["python3", "python3-venv", "python3-pip", "bash"]
//	exclude = ["debconf", "perl-base"]
//	env = ["LANG=C.UTF-8"]
//	labels = { "org.opencontainers.image.source" = "https://example.com/stacks" }
//
//	[run]
//	packages = ["python3-minimal", "ca-certificates"]
//	exclude = ["debconf", "perl-base"]
//	user = true                       # [run]: run as the CNB user (default); false keeps the base's user (root)
//	rebasable = true                  # io.buildpacks.rebasable (default true)
//
//	[debian]
//	architecture = "amd64"            # default: the base's, else the machine's
//	merged-usr = true                 # layout for images without a base (default true)
//
//	[[debian.sources]]                # default: the machine's apt sources
//	uri = "http://deb.debian.org/debian"
//	suites = ["bookworm", "bookworm-updates"]
//	components = ["main"]
//	signed-by = "/usr/share/keyrings/debian-archive-keyring.gpg"
//	trusted = false                   # true skips the signature check
type Config struct {
	ID        string      `toml:"id"`
	UID       *int        `toml:"uid"`
	GID       *int        `toml:"gid"`
	UserName  string      `toml:"user-name"`
	GroupName string      `toml:"group-name"`
	Build     ImageConfig `toml:"build"`
	Run       ImageConfig `toml:"run"`
	Debian    struct {
		Architecture string         `toml:"architecture"`
		MergedUsr    *bool          `toml:"merged-usr"`
		Sources      []SourceConfig `toml:"sources"`
	} `toml:"debian"`
}

// ImageConfig is the [build] or [run] table of stack.toml.
type ImageConfig struct {
	Base      string            `toml:"base"`
	Packages  []string          `toml:"packages"`
	Exclude   []string          `toml:"exclude"`
	User      *bool             `toml:"user"`
	Rebasable *bool             `toml:"rebasable"`
	Env       []string          `toml:"env"`
	Labels    map[string]string `toml:"labels"`
}

// SourceConfig is one [[debian.sources]] entry of stack.toml.
type SourceConfig struct {
	URI        string   `toml:"uri"`
	Suites     []string `toml:"suites"`
	Components []string `toml:"components"`
	SignedBy   string   `toml:"signed-by"`
	Trusted    bool     `toml:"trusted"`
}

// LoadConfig reads a stack.toml and returns its Spec. Unknown keys are an
// error naming the file and the key. The spec's Debian sources are those of
// the file (empty when it lists none: the caller then supplies the
// machine's).
func LoadConfig(path string) (Spec, error) {
	var c Config
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return Spec{}, fmt.Errorf("reading stack config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Spec{}, fmt.Errorf("reading stack config %s: unknown key %s: %w", path, strings.Join(keys, ", "), ErrConfig)
	}
	if c.ID == "" {
		return Spec{}, fmt.Errorf("reading stack config %s: id: missing: %w", path, ErrConfig)
	}
	for key, v := range map[string]*int{"uid": c.UID, "gid": c.GID} {
		if v != nil && *v == 0 {
			return Spec{}, fmt.Errorf("reading stack config %s: %s = 0: %w", path, key, ErrRootUser)
		}
		if v != nil && (*v < 0 || *v >= maxID) {
			return Spec{}, fmt.Errorf("reading stack config %s: %s = %d: want 1 to %d: %w", path, key, *v, maxID-1, ErrConfig)
		}
	}
	dir := filepath.Dir(path)
	spec := Spec{
		ID: c.ID, UID: deref(c.UID), GID: deref(c.GID), UserName: c.UserName, GroupName: c.GroupName,
		Build: c.Build.spec(dir), Run: c.Run.spec(dir),
		Debian: DebianSpec{Architecture: c.Debian.Architecture, MergedUsr: c.Debian.MergedUsr},
	}
	for i, s := range c.Debian.Sources {
		if s.URI == "" || len(s.Suites) == 0 {
			return Spec{}, fmt.Errorf("reading stack config %s: debian.sources[%d]: uri and suites are required: %w", path, i, ErrConfig)
		}
		src := debian.Source{URI: relURI(dir, s.URI), Suites: s.Suites, Components: s.Components, SignedBy: s.SignedBy, Trusted: s.Trusted}
		if src.SignedBy != "" && !strings.Contains(src.SignedBy, "BEGIN PGP") {
			src.SignedBy = relPath(dir, src.SignedBy)
		}
		spec.Debian.Sources = append(spec.Debian.Sources, src)
	}
	if spec.Build.Base == "" && len(spec.Build.Packages) == 0 {
		return Spec{}, fmt.Errorf("reading stack config %s: build: needs a base or packages: %w", path, ErrConfig)
	}
	if spec.Run.Base == "" && len(spec.Run.Packages) == 0 {
		return Spec{}, fmt.Errorf("reading stack config %s: run: needs a base or packages: %w", path, ErrConfig)
	}
	return spec, nil
}

func (ic ImageConfig) spec(dir string) ImageSpec {
	is := ImageSpec{Base: ic.Base, Packages: ic.Packages, Exclude: ic.Exclude, User: ic.User != nil && *ic.User,
		AsRoot: ic.User != nil && !*ic.User, Env: ic.Env, Labels: ic.Labels,
		NotRebasable: ic.Rebasable != nil && !*ic.Rebasable}
	if p, ok := strings.CutPrefix(is.Base, rootfsPrefix); ok {
		is.Base = rootfsPrefix + relPath(dir, p)
	}
	if p, ok := strings.CutPrefix(is.Base, "oci:"); ok {
		is.Base = "oci:" + relPath(dir, p)
	}
	if p, ok := strings.CutPrefix(is.Base, "docker-archive:"); ok {
		is.Base = "docker-archive:" + relPath(dir, p)
	}
	return is
}

func relPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// relURI resolves a relative file: URI against dir.
func relURI(dir, uri string) string {
	p, ok := strings.CutPrefix(uri, "file:")
	if !ok || strings.HasPrefix(p, "/") {
		return uri
	}
	return "file:" + relPath(dir, p)
}

// maxID bounds uids and gids: a uid_t is 32 bits and (uid_t)-1 means none.
const maxID = 1<<32 - 1

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
