package launch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Metadata is what the launcher reads from <layers>/config/metadata.toml.
// Other tables of that file (labels, slices, bom, extensions) are skipped.
type Metadata struct {
	// DefaultProcessType is buildpack-default-process-type. The launcher
	// itself does not use it, as in the reference lifecycle: the exporter
	// turns it into the image entrypoint /cnb/process/<type>.
	DefaultProcessType string
	Buildpacks         []Buildpack // the group, in order
	Processes          []Process
}

// Buildpack is one [[buildpacks]] entry of metadata.toml.
type Buildpack struct {
	ID      string
	Version string
	API     string // Buildpack API; empty means 0.2
}

// Process is one [[processes]] entry of metadata.toml.
type Process struct {
	Type string
	// Command is the executable and its always-passed arguments. Below
	// Platform API 0.10 metadata.toml holds a single string, which becomes a
	// one-element Command.
	Command     []string
	Args        []string // defaults the user's arguments replace or extend
	Direct      bool     // exec directly rather than through /bin/bash
	BuildpackID string
	WorkingDir  string   // working-dir; empty means the app dir
	ExecEnv     []string // exec-env (Platform 0.15)
}

// MetadataPath returns the path of metadata.toml in layersDir.
func MetadataPath(layersDir string) string {
	return filepath.Join(layersDir, "config", "metadata.toml")
}

// ReadMetadata reads <layersDir>/config/metadata.toml.
func ReadMetadata(layersDir string) (Metadata, error) {
	path := MetadataPath(layersDir)
	data, err := os.ReadFile(path)
	if err != nil {
		return Metadata{}, fmt.Errorf("reading metadata: %w", err)
	}
	md, err := ParseMetadata(data)
	if err != nil {
		return Metadata{}, fmt.Errorf("reading metadata %s: %w", path, err)
	}
	return md, nil
}

// ParseMetadata decodes the text of a metadata.toml.
func ParseMetadata(data []byte) (Metadata, error) {
	doc, err := parseTOML(string(data))
	if err != nil {
		return Metadata{}, err
	}
	var md Metadata
	d := decoder{t: doc}
	md.DefaultProcessType = d.str("buildpack-default-process-type")
	for i, t := range d.tables("buildpacks") {
		bd := decoder{t: t, at: fmt.Sprintf("buildpacks[%d].", i)}
		md.Buildpacks = append(md.Buildpacks, Buildpack{
			ID: bd.str("id"), Version: bd.str("version"), API: bd.str("api"),
		})
		if d.err == nil {
			d.err = bd.err
		}
	}
	for i, t := range d.tables("processes") {
		pd := decoder{t: t, at: fmt.Sprintf("processes[%d].", i)}
		md.Processes = append(md.Processes, Process{
			Type:        pd.str("type"),
			Command:     pd.command("command"),
			Args:        pd.strs("args"),
			Direct:      pd.boolean("direct"),
			BuildpackID: pd.str("buildpack-id"),
			WorkingDir:  pd.str("working-dir"),
			ExecEnv:     pd.strs("exec-env"),
		})
		if d.err == nil {
			d.err = pd.err
		}
	}
	return md, d.err
}

// FindProcess returns the process of type t.
func (md Metadata) FindProcess(t string) (Process, bool) {
	for _, p := range md.Processes {
		if p.Type == t {
			return p, true
		}
	}
	return Process{}, false
}

// findBuildpack returns the buildpack with the given id.
func (md Metadata) findBuildpack(id string) (Buildpack, bool) {
	for _, bp := range md.Buildpacks {
		if bp.ID == id {
			return bp, true
		}
	}
	return Buildpack{}, false
}

// decoder reads typed fields from a parsed table and keeps the first type
// error; at prefixes field names in messages.
type decoder struct {
	t   map[string]any
	at  string
	err error
}

func (d *decoder) fail(key, want string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s%s: want %s, got %T", d.at, key, want, d.t[key])
	}
}

func (d *decoder) str(key string) string {
	switch v := d.t[key].(type) {
	case nil:
	case string:
		return v
	default:
		d.fail(key, "a string")
	}
	return ""
}

func (d *decoder) boolean(key string) bool {
	switch v := d.t[key].(type) {
	case nil:
	case bool:
		return v
	default:
		d.fail(key, "a boolean")
	}
	return false
}

func (d *decoder) strs(key string) []string {
	v, ok := d.t[key].([]any)
	if !ok {
		if d.t[key] != nil {
			d.fail(key, "an array of strings")
		}
		return nil
	}
	out := make([]string, 0, len(v))
	for _, e := range v {
		s, ok := e.(string)
		if !ok {
			d.fail(key, "an array of strings")
			return nil
		}
		out = append(out, s)
	}
	return out
}

// command accepts a string (Platform API < 0.10) or an array of strings.
func (d *decoder) command(key string) []string {
	if s, ok := d.t[key].(string); ok {
		return []string{s}
	}
	return d.strs(key)
}

// tables returns an array of tables. An entry that is a string holding a
// TOML table is accepted too: some TOML encoders write values that marshal
// themselves to text that way.
func (d *decoder) tables(key string) []map[string]any {
	switch v := d.t[key].(type) {
	case nil:
	case tomlTableArray:
		return v
	case []any:
		var out []map[string]any
		for _, e := range v {
			switch e := e.(type) {
			case map[string]any:
				out = append(out, e)
			case string:
				t, err := parseTOML(strings.TrimSpace(e))
				if err != nil {
					d.fail(key, "an array of tables")
					return nil
				}
				out = append(out, t)
			default:
				d.fail(key, "an array of tables")
				return nil
			}
		}
		return out
	default:
		d.fail(key, "an array of tables")
	}
	return nil
}
