package launch

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// The launcher's TOML reader is checked against BurntSushi/toml, the
// parser the rest of kiln (and the lifecycle) writes its files with: on
// every document that parser accepts, the launcher's must accept it too and
// read the same strings, booleans, arrays and tables (numbers and dates are
// kept as text here, so only their presence is compared). Documents only
// the launcher accepts are allowed: it is lenient, never stricter.

var tomlSeeds = []string{
	"a = \"b\"\n",
	"[[buildpacks]]\nid = \"x\"\nversion = \"1\"\n\n[[processes]]\ntype = \"web\"\ncommand = [\"a\", \"b\"]\nargs = []\ndirect = true\n",
	"buildpack-default-process-type = \"web\"\n[[processes]]\ntype = 'web'\ncommand = \"\"\"\nmulti\nline\"\"\"\n",
	"a.b.c = 1\n\"quoted key\" = 'lit'\n[t]\nx = [1, 2.5, 1979-05-27T07:32:00Z, true]\ny = { p = 1, q = \"s\" }\n",
	"s = \"tab\\t nl\\n unicode \\u00e9 \\U0001F600 quote\\\" back\\\\\"\n",
	"[a]\n[a.b]\nc = 1\n[[a.d]]\ne = 2\n[[a.d]]\ne = 3\n",
	"k = '''\nraw ''\\n'''\n# comment\n",
	"FOO = \"bar\"\nBAZ = \"qux\"\n",
}

func FuzzParseTOML(f *testing.F) {
	for _, s := range tomlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		got, err := withDeadline(t, func() (map[string]any, error) { return parseTOML(src) })
		var want map[string]any
		if _, werr := toml.Decode(src, &want); werr != nil || err != nil && referenceLenient(src) {
			return
		}
		if err != nil {
			t.Fatalf("BurntSushi/toml reads %q, the launcher's parser fails: %v", src, err)
		}
		if g, w := normLaunch(got), normReference(want); !reflect.DeepEqual(g, w) {
			t.Fatalf("%q:\nlauncher:  %#v\nreference: %#v", src, g, w)
		}
	})
}

// referenceMetadata is metadata.toml as the reference parser reads it.
type referenceMetadata struct {
	Default    string `toml:"buildpack-default-process-type"`
	Buildpacks []struct {
		ID      string `toml:"id"`
		Version string `toml:"version"`
		API     string `toml:"api"`
	} `toml:"buildpacks"`
	Processes []struct {
		Type        string   `toml:"type"`
		Command     any      `toml:"command"`
		Args        []string `toml:"args"`
		Direct      bool     `toml:"direct"`
		BuildpackID string   `toml:"buildpack-id"`
		WorkingDir  string   `toml:"working-dir"`
		ExecEnv     []string `toml:"exec-env"`
	} `toml:"processes"`
}

// FuzzParseMetadata: a metadata.toml the reference parser reads with the
// right types is read by ParseMetadata to the same values.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range tomlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := withDeadline(t, func() (Metadata, error) { return ParseMetadata(data) })
		var ref referenceMetadata
		meta, rerr := toml.Decode(string(data), &ref)
		if rerr != nil || !exactKeys(meta) || err != nil && referenceLenient(string(data)) {
			return
		}
		want := Metadata{DefaultProcessType: ref.Default}
		for _, b := range ref.Buildpacks {
			want.Buildpacks = append(want.Buildpacks, Buildpack{ID: b.ID, Version: b.Version, API: b.API})
		}
		for _, p := range ref.Processes {
			cmd, ok := referenceCommand(p.Command)
			if !ok {
				return // a command of another type: both must refuse, the reference does not
			}
			want.Processes = append(want.Processes, Process{Type: p.Type, Command: cmd, Args: p.Args, Direct: p.Direct,
				BuildpackID: p.BuildpackID, WorkingDir: p.WorkingDir, ExecEnv: p.ExecEnv})
		}
		if err != nil {
			t.Fatalf("the reference reads %q, ParseMetadata fails: %v", data, err)
		}
		if !reflect.DeepEqual(normMetadata(md), normMetadata(want)) {
			t.Fatalf("%q:\nParseMetadata: %#v\nreference:     %#v", data, md, want)
		}
	})
}

// FuzzParseExecDOutput: NAME = "value" lines the reference reads as strings
// are the launcher's variables.
func FuzzParseExecDOutput(f *testing.F) {
	for _, s := range tomlSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		got, err := withDeadline(t, func() (map[string]string, error) { return parseExecDOutput(out) })
		var want map[string]string
		if _, rerr := toml.Decode(out, &want); rerr != nil || err != nil && referenceLenient(out) {
			return
		}
		if err != nil {
			t.Fatalf("the reference reads %q, the launcher fails: %v", out, err)
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%q: launcher %q, reference %q", out, got, want)
		}
	})
}

// referenceLenient reports documents the reference reads though TOML
// forbids them, which the launcher may refuse: BurntSushi/toml v1.6.0
// closes a multi-line basic string with six quotes after an escape
// (0 = """\\"""""" reads as `\"""`), where the spec allows at most two
// quotes before the closing three.
func referenceLenient(src string) bool { return strings.Contains(src, `""""""`) }

// metadataKeys are the keys of metadata.toml the launcher reads.
var metadataKeys = []string{"buildpack-default-process-type", "buildpacks", "processes", "id", "version", "api",
	"type", "command", "args", "direct", "buildpack-id", "working-dir", "exec-env"}

// exactKeys reports whether the document spells the keys the launcher
// reads as it does: the reference matches struct fields regardless of case
// (BuildPacks is buildpacks to it), the launcher and the spec do not.
func exactKeys(md toml.MetaData) bool {
	for _, k := range md.Keys() {
		last := k[len(k)-1]
		for _, want := range metadataKeys {
			if last != want && strings.EqualFold(last, want) {
				return false
			}
		}
	}
	return true
}

func referenceCommand(v any) ([]string, bool) {
	switch c := v.(type) {
	case nil:
		return nil, true
	case string:
		return []string{c}, true
	case []any:
		out := make([]string, 0, len(c))
		for _, e := range c {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// normMetadata makes empty and nil slices alike.
func normMetadata(md Metadata) Metadata {
	if len(md.Buildpacks) == 0 {
		md.Buildpacks = nil
	}
	if len(md.Processes) == 0 {
		md.Processes = nil
	}
	for i := range md.Processes {
		p := &md.Processes[i]
		for _, s := range []*[]string{&p.Command, &p.Args, &p.ExecEnv} {
			if len(*s) == 0 {
				*s = nil
			}
		}
	}
	return md
}

// normLaunch and normReference map both parsers' values onto one form:
// strings, booleans, "<raw>" for numbers and dates, []any and map[string]any.
func normLaunch(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = normLaunch(e)
		}
		return out
	case tomlTableArray:
		out := []any{}
		for _, e := range v {
			out = append(out, normLaunch(e))
		}
		return out
	case []any:
		out := []any{}
		for _, e := range v {
			out = append(out, normLaunch(e))
		}
		return out
	case tomlRaw:
		return "<raw>"
	}
	return v
}

func normReference(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = normReference(e)
		}
		return out
	case []map[string]any:
		out := []any{}
		for _, e := range v {
			out = append(out, normReference(e))
		}
		return out
	case []any:
		out := []any{}
		for _, e := range v {
			out = append(out, normReference(e))
		}
		return out
	case string, bool:
		return v
	case int64, float64, time.Time:
		return "<raw>"
	}
	return fmt.Sprintf("<%T>", v)
}

// withDeadline runs fn and fails the test when it does not return within
// seconds: a parser must end on any input.
func withDeadline[T any](t *testing.T, fn func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("the parser did not end within 10s")
		var zero T
		return zero, nil
	}
}
