package lifecycle

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/internal/beneath"
)

// The directories buildpacks write (the layers, app and platform dirs, the
// scratch dir of plan files) are read and written by kiln only through
// directory handles (package internal/beneath): a name is resolved below
// the handle of the tree's root, no symbolic link is followed, and nothing
// outside the tree can be reached, whatever a buildpack left there or
// renames while kiln works. The root itself is a directory kiln made (or
// a mount point), so its host path is trusted. Data files must be regular
// files, are opened without blocking and are read up to these sizes.
const (
	maxTOMLSize    = 16 << 20 // launch.toml, <layer>.toml, plan files, …
	maxEnvFileSize = 1 << 20  // one env file: more than any exec accepts
)

// openTree opens the root of a tree buildpacks write; errors name its
// files by their container paths.
func openTree(d Dir) (*beneath.Dir, error) {
	return beneath.Open(d.Host, d.Container)
}

// readTOML decodes the regular file name below dir into v; ok is false
// when there is no such file.
func readTOML(dir *beneath.Dir, name string, v any) (md toml.MetaData, ok bool, err error) {
	b, err := dir.ReadFile(name, maxTOMLSize)
	if errors.Is(err, fs.ErrNotExist) {
		return md, false, nil
	} else if err != nil {
		return md, false, err
	}
	md, err = toml.Decode(string(b), v)
	if err != nil {
		return md, false, fmt.Errorf("decoding %s: %w", dir.Path(name), err)
	}
	return md, true, nil
}

// writeTOMLAt encodes v to name below dir (temp file and rename), mode
// 0644, and gives it to owner.
func writeTOMLAt(dir *beneath.Dir, name string, v any, owner *Owner) error {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	if err := dir.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return owner.chownAt(dir, name)
}

// chownAt gives name below dir (itself for "") to o; a nil Owner leaves it
// alone.
func (o *Owner) chownAt(dir *beneath.Dir, names ...string) error {
	if o == nil {
		return nil
	}
	for _, n := range names {
		if err := dir.Lchown(n, o.UID, o.GID); err != nil {
			return err
		}
	}
	return nil
}

// mkdirFor creates the directory name below dir (and its parents) for
// buildpacks to write, owned by owner, and opens it.
func mkdirFor(dir *beneath.Dir, name string, owner *Owner) (*beneath.Dir, error) {
	d, err := dir.MkdirAll(name, 0o755)
	if err != nil {
		return nil, err
	}
	if err := owner.chownAt(d, ""); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// isDirAt reports whether name below dir is a directory (not a symlink to
// one).
func isDirAt(dir *beneath.Dir, name string) bool {
	fi, err := dir.Lstat(name)
	return err == nil && fi.IsDir()
}

// checkMetadata checks a table of metadata a buildpack wrote (under key,
// e.g. "metadata") for what kiln must carry into the image's JSON labels:
// TOML has nan and inf, JSON has neither, so such a value would fail the
// export (or drop the legacy BOM) far from the file that holds it.
func checkMetadata(key string, v any) error {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s = %v: metadata goes into the image as JSON, which has no NaN or infinity (write it as a string)", key, v)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if err := checkMetadata(key+"."+tomlKey(k), v[k]); err != nil {
				return err
			}
		}
	case []map[string]any:
		for i, e := range v {
			if err := checkMetadata(fmt.Sprintf("%s[%d]", key, i), e); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := checkMetadata(fmt.Sprintf("%s[%d]", key, i), e); err != nil {
				return err
			}
		}
	}
	return nil
}

// tomlKey writes k as a TOML key: bare when it can be.
func tomlKey(k string) string {
	if k != "" && strings.Trim(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == "" {
		return k
	}
	return strconv.Quote(k)
}
