package lifecycle

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kilnbuild/kiln/internal/beneath"
	"github.com/kilnbuild/kiln/lifecycle/api"
)

// The TOML files buildpacks write (launch.toml, <layer>.toml, store.toml,
// build.toml, the plan of bin/detect), read as the builder reads them:
// through a directory handle on a tree of the test's own. Each target
// checks that reading ends, that an error names the file, and what the
// reader promises of what it returns. Seeds: the contract's examples, the
// repo's fixtures and hostile cases; regressions in testdata/fuzz/<Target>.

// fuzzContainerDir is where the fuzzed buildpack's layers dir sits in the
// build container.
const fuzzContainerDir = "/layers/test_bp"

// fuzzLayersDir writes files into a fresh buildpack layers dir and opens it.
func fuzzLayersDir(t *testing.T, files map[string][]byte) (*beneath.Dir, string) {
	t.Helper()
	host := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(host, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := beneath.Open(host, fuzzContainerDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, host
}

// fuzzBuildpack is a buildpack of one of the Buildpack APIs kiln runs,
// chosen by n.
func fuzzBuildpack(n uint8) *Buildpack {
	r := api.Buildpack
	v := api.Version{Major: r.Min.Major, Minor: r.Min.Minor + int(n)%(r.Max.Minor-r.Min.Minor+1)}
	return &Buildpack{API: v.String(), Info: BuildpackInfo{ID: "test/bp", Version: "1.0.0"}, api: v}
}

var discard = slog.New(slog.DiscardHandler)

// nameErr fails unless err names the file.
func nameErr(t *testing.T, err error, file string) {
	t.Helper()
	if !strings.Contains(err.Error(), file) {
		t.Fatalf("the error does not name %s: %v", file, err)
	}
}

// metadataTrip is the trip metadata a buildpack writes makes through kiln:
// into the image's (and the cache's) JSON label at export, and back into a
// TOML file below /layers at restore. It must survive both, unchanged.
func metadataTrip(t *testing.T, what string, data any) {
	t.Helper()
	if data == nil {
		return
	}
	label, err := json.Marshal(data)
	if err != nil {
		t.Fatalf("%s was read but cannot be written to the image label: %v", what, err)
	}
	var restored map[string]any
	if err := json.Unmarshal(label, &restored); err != nil {
		t.Fatalf("%s: the label does not decode: %v", what, err)
	}
	// Restore decodes the label as the lifecycle does: numbers become
	// float64, so an integer beyond ±2^53 comes back rounded (and any
	// integer as a float). What must hold is that the TOML written at
	// restore reads back as the label says.
	label, err = json.Marshal(restored)
	if err != nil {
		t.Fatalf("%s: the label decoded does not encode: %v", what, err)
	}
	dir, _ := fuzzLayersDir(t, nil)
	if err := writeTOMLAt(dir, "back.toml", storeFile{Metadata: restored}, nil); err != nil {
		t.Fatalf("%s cannot be restored as TOML: %v\nlabel: %s", what, err, label)
	}
	var back storeFile
	if _, _, err := readTOML(dir, "back.toml", &back); err != nil {
		t.Fatalf("%s restored as TOML does not read back: %v\nlabel: %s", what, err, label)
	}
	again, err := json.Marshal(back.Metadata)
	if err != nil || string(again) != string(label) {
		t.Fatalf("%s changed through restore:\nexported %s\nrestored %s (%v)", what, label, again, err)
	}
}

// metadataSeeds are values buildpacks put in [metadata] tables, plain and
// hostile: every TOML type, nesting, keys that need quoting, floats that
// JSON cannot hold.
var metadataSeeds = []string{
	"[metadata]\nversion = \"1.2.3\"\nurl = \"https://example.com/x.tgz\"\n",
	"[metadata]\ni = 9223372036854775807\nf = 1.5e300\nb = true\nd = 1979-05-27T07:32:00Z\nld = 1979-05-27\nlt = 07:32:00\narr = [1, \"a\", [2]]\n[metadata.nested.deeper]\n\"quoted key\" = \"\"\n\"\" = 1\n[[metadata.list]]\na = 1\n",
	"[metadata]\nx = nan\n", "[metadata]\nx = -inf\n", "[metadata]\nx = [{ a = inf }]\n",
	"metadata = 1\n", "[metadata]\n\"a.b\" = { \"c\\u0000d\" = \"\\u0000\" }\n",
}

// FuzzReadLaunch reads launch.toml for each Buildpack API: an error names
// the file; the processes read have a type the launcher can name, a
// command, the API's rules applied and at most one default; the bom's
// metadata can go into the image.
func FuzzReadLaunch(f *testing.F) {
	for _, s := range []string{
		"[[labels]]\nkey = \"k\"\nvalue = \"v\"\n[[processes]]\ntype = \"web\"\ncommand = [\"node\", \"server.js\"]\nargs = [\"--port\", \"8080\"]\ndefault = true\nworking-dir = \"/workspace/app\"\nexec-env = [\"production\"]\n[[slices]]\npaths = [\"static/*\"]\n",
		"[[processes]]\ntype = \"web\"\ncommand = \"node server.js\"\ndirect = false\n[[processes]]\ntype = \"worker\"\ncommand = \"w\"\ndirect = true\n",
		"[[processes]]\ntype = \"a\"\ncommand = []\n", "[[processes]]\ntype = \"../x\"\ncommand = [\"x\"]\n",
		"[[processes]]\ntype = \"a\"\ncommand = [1]\n", "[[processes]]\ntype = \"a\"\ncommand = [\"a\"]\ndefault = true\n[[processes]]\ntype = \"b\"\ncommand = [\"b\"]\ndefault = true\n",
		"[[bom]]\nname = \"node\"\nversion = \"18\"\n[bom.metadata]\nversion = \"18\"\nnan = nan\n", "processes = \"x\"\n", "[[labels]]\nkey = 1\n",
	} {
		for n := range uint8(11) {
			f.Add([]byte(s), n)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		bp := fuzzBuildpack(n)
		dir, _ := fuzzLayersDir(t, map[string][]byte{"launch.toml": data})
		out, err := readLaunch(dir, bp, discard)
		if err != nil {
			nameErr(t, err, fuzzContainerDir+"/launch.toml")
			return
		}
		defaults := 0
		for _, p := range out.Processes {
			switch {
			case p.Type == "" || strings.ContainsAny(p.Type, `/><:|&\`):
				t.Fatalf("process type %q", p.Type)
			case len(p.Command) == 0:
				t.Fatalf("process %q has no command", p.Type)
			case p.BuildpackID != bp.Info.ID:
				t.Fatalf("process %q of buildpack %q", p.Type, p.BuildpackID)
			case bp.api.AtLeast("0.9") && !p.Direct:
				t.Fatalf("process %q not direct for Buildpack API %s", p.Type, bp.api)
			case bp.api.LessThan("0.8") && p.WorkingDir != "", bp.api.LessThan("0.12") && p.ExecEnv != nil:
				t.Fatalf("process %q keeps keys Buildpack API %s does not have: %+v", p.Type, bp.api, p)
			}
			if p.Default {
				defaults++
			}
		}
		if defaults > 1 {
			t.Fatalf("%d default processes", defaults)
		}
		for _, r := range out.BOM {
			metadataTrip(t, "bom metadata", r.Metadata)
		}
	})
}

// FuzzReadLayers reads a buildpack's layers dir holding one <name>.toml
// (and, as chosen, a directory of that name): an error names the file; a
// layer read has a layer name, a flag set, a directory where the name
// says, and metadata that survives export and restore.
func FuzzReadLayers(f *testing.F) {
	for _, s := range append(metadataSeeds,
		"[types]\nlaunch = true\nbuild = true\ncache = true\n[metadata]\nv = \"1\"\n",
		"launch = true\ncache = true\n[metadata]\nv = 1\n", "[types]\nlaunch = \"yes\"\n", "[types]\n[types.launch]\n",
	) {
		for _, name := range []string{"node", ".", "..", "", ".ignore", "launch", "sbom", "a.b"} {
			f.Add(name, []byte("[types]\nlaunch = true\n"+s), uint8(10), true)
			f.Add(name, []byte(s), uint8(3), false)
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte, n uint8, withDir bool) {
		file := name + ".toml"
		if file != filepath.Base(file) || strings.ContainsRune(file, 0) || len(file) > 255 || file == ".toml" && !withDir {
			return // not a file name a directory can hold (NAME_MAX is 255 bytes)
		}
		bp := fuzzBuildpack(n)
		dir, host := fuzzLayersDir(t, map[string][]byte{file: data})
		if withDir && name != "" && name != "." && name != ".." {
			if err := os.Mkdir(filepath.Join(host, name), 0o755); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
		}
		layers, err := readLayers(dir, Dir{Host: host, Container: fuzzContainerDir}, bp.api, discard)
		if err != nil {
			nameErr(t, err, path.Join(fuzzContainerDir, file))
			return
		}
		for _, l := range layers {
			if err := checkLayerName(l.Name); err != nil {
				t.Fatalf("a layer read with a bad name: %v", err)
			}
			if !l.Launch && !l.Build && !l.Cache {
				t.Fatalf("layer %q read with no flag set", l.Name)
			}
			if l.Dir.Container != path.Join(fuzzContainerDir, l.Name) || path.Dir(l.Dir.Container) != fuzzContainerDir {
				t.Fatalf("layer %q lies at %s, not in %s", l.Name, l.Dir.Container, fuzzContainerDir)
			}
			if l.Metadata != nil {
				metadataTrip(t, "layer metadata", l.Metadata)
			}
		}
	})
}

// FuzzReadStore reads store.toml as the builder does: an error names the
// file; the metadata read survives export (it persists only in the image
// label) and restore.
func FuzzReadStore(f *testing.F) {
	for _, s := range metadataSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte("[metadata]\nrun-count = 3\n[metadata.last]\nat = 2024-01-01T00:00:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir, _ := fuzzLayersDir(t, map[string][]byte{"store.toml": data})
		store, err := readStore(dir)
		if err != nil {
			nameErr(t, err, fuzzContainerDir+"/store.toml")
			return
		}
		metadataTrip(t, "store metadata", store.Metadata)
	})
}

// FuzzBuildFile reads build.toml (Buildpack API ≥0.5) or, below 0.5, the
// plan file the buildpack rewrote, against a plan of two entries: an error
// names the file or the buildpack; from 0.5 the entries met are entries of
// the plan; the bom recorded can go into the image.
func FuzzBuildFile(f *testing.F) {
	for _, s := range []string{
		"[[unmet]]\nname = \"node\"\n[[bom]]\nname = \"npm\"\n[bom.metadata]\nversion = \"9\"\n",
		"[[entries]]\nname = \"node\"\nversion = \"18\"\n[entries.metadata]\nversion = \"18\"\n",
		"[[unmet]]\nname = \"other\"\n", "[[bom]]\nname = \"x\"\nversion = \"1\"\n", "[[bom]]\nname = \"x\"\n[bom.metadata]\nf = nan\n",
		"unmet = [1]\n", "[[entries]]\n", "[[entries]]\nname = \"not-planned\"\n",
	} {
		f.Add([]byte(s), uint8(2))
		f.Add([]byte(s), uint8(8))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		bp := fuzzBuildpack(n)
		plan := BuildpackPlan{Entries: []Require{{Name: "node"}, {Name: "npm"}}}
		file := "build.toml"
		if bp.api.LessThan("0.5") {
			file = "plan.toml"
		}
		dir, _ := fuzzLayersDir(t, map[string][]byte{file: data})
		var s building
		met, err := s.met(bp, plan, dir, dir)
		if err != nil {
			if !strings.Contains(err.Error(), fuzzContainerDir+"/"+file) && !strings.Contains(err.Error(), bp.Info.ID) {
				t.Fatalf("the error names neither %s nor the buildpack: %v", file, err)
			}
			return
		}
		// Below 0.5 what the buildpack left in its plan file is met, whatever
		// it names, as for the lifecycle (an entry met that no plan has
		// takes nothing from later buildpacks).
		for _, m := range met {
			if m != "node" && m != "npm" && bp.api.AtLeast("0.5") {
				t.Fatalf("%q met: not in the plan", m)
			}
		}
		if bp.api.AtLeast("0.5") && len(met) == 0 && !strings.Contains(string(data), "unmet") {
			t.Fatalf("nothing met without an unmet entry")
		}
		for _, e := range append(s.bom.launch, s.bom.build...) {
			metadataTrip(t, "bom metadata", e.Metadata)
		}
	})
}

// FuzzDetectPlan reads the build plan bin/detect writes, as detection
// does: an error names the file; requirements read and normalised for the
// buildpack's API are written to the plan of bin/build and read back the
// same.
func FuzzDetectPlan(f *testing.F) {
	for _, s := range []string{
		"[[provides]]\nname = \"node\"\n[[requires]]\nname = \"node\"\n[requires.metadata]\nversion = \"18\"\nlaunch = true\n[[or]]\n[[or.provides]]\nname = \"python\"\n",
		"[[requires]]\nname = \"node\"\nversion = \"18\"\n", "[[requires]]\nname = \"n\"\nversion = \"1\"\n[requires.metadata]\nversion = 1\n",
		"[[requires]]\nname = \"n\"\n[requires.metadata]\nx = nan\nt = 1979-05-27T07:32:00Z\n", "requires = 1\n", "[[or]]\nprovides = [1]\n",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(9))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		bp := fuzzBuildpack(n)
		dir, _ := fuzzLayersDir(t, map[string][]byte{"plan.toml": data})
		var p BuildPlan
		if _, _, err := readTOML(dir, "plan.toml", &p); err != nil {
			nameErr(t, err, fuzzContainerDir+"/plan.toml")
			return
		}
		if err := p.normalizeVersions(bp.api); err != nil {
			return // refused with the requirement's name; the caller names the buildpack
		}
		for _, s := range append([]PlanSections{p.PlanSections}, p.Or...) {
			want := BuildpackPlan{Entries: s.Requires}
			if err := writeTOMLAt(dir, "bp-plan.toml", want, nil); err != nil {
				t.Fatalf("writing the requirements read as a buildpack plan: %v", err)
			}
			var back BuildpackPlan
			if _, _, err := readTOML(dir, "bp-plan.toml", &back); err != nil {
				t.Fatalf("the buildpack plan written does not read back: %v", err)
			}
			if diff := cmp.Diff(want, back, cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); diff != "" {
				t.Fatalf("the requirements changed through the buildpack plan (-read +back):\n%s", diff)
			}
		}
	})
}

// FuzzReadBuildpack reads buildpack.toml as the phases do: an error names
// the file (or is an *APIError naming the buildpack); a buildpack read has
// an ID that is one path element once escaped and not reserved, and a
// Buildpack API kiln runs.
func FuzzReadBuildpack(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "buildpacks", "*", "*", "buildpack.toml"))
	for _, p := range fixtures {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"api = \"0.10\"\n[buildpack]\nid = \"..\"\nversion = \"1\"\n", "api = \"0.10\"\n[buildpack]\nid = \"a/../b\"\nversion = \"1\"\n",
		"api = \"0.10\"\n[buildpack]\nid = \"APP\"\nversion = \"1\"\n", "api = \"0.99\"\n[buildpack]\nid = \"a\"\n", "api = \"0\"\n[buildpack]\nid = \"a\"\n",
		"api = \"0.9\"\n[buildpack]\nid = \"a\"\nversion = \"1\"\n[[targets]]\nos = \"linux\"\narch-variant = \"v8\"\n[[order]]\n[[order.group]]\nid = \"b\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		host := t.TempDir()
		file := filepath.Join(host, "buildpack.toml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		bp, err := ReadBuildpack(SameDir(host))
		if err != nil {
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				nameErr(t, err, file)
			}
			return
		}
		esc := EscapeID(bp.Info.ID)
		if err := validateID(bp.Info.ID); err != nil || esc != filepath.Base(esc) || esc == "." || esc == ".." || strings.ContainsRune(esc, 0) {
			t.Fatalf("buildpack ID %q (escaped %q) read: %v", bp.Info.ID, esc, err)
		}
		if !supportedBuildpackAPI(bp.api) {
			t.Fatalf("Buildpack API %s read", bp.api)
		}
	})
}

// FuzzPlatformFiles reads the files platforms and the phases hand each
// other (group.toml, order.toml, plan.toml, analyzed.toml, metadata.toml,
// project-metadata.toml): an error names the file; what is read is written
// back by kiln's writer and read again the same.
func FuzzPlatformFiles(f *testing.F) {
	for k, s := range []string{
		"[[group]]\nid = \"a/b\"\nversion = \"1\"\napi = \"0.10\"\nhomepage = \"h\"\n",
		"[[order]]\n[[order.group]]\nid = \"a\"\nversion = \"1\"\noptional = true\n[[order]]\n[[order.group]]\nid = \"b\"\n",
		"[[entries]]\n[[entries.providers]]\nid = \"a\"\nversion = \"1\"\n[[entries.requires]]\nname = \"n\"\n[entries.requires.metadata]\nv = 1.5\nt = 1979-05-27T07:32:00Z\n",
		"[run-image]\nreference = \"r@sha256:" + strings.Repeat("a", 64) + "\"\nimage = \"r\"\n[run-image.target]\nos = \"linux\"\narch = \"amd64\"\n[run-image.target.distro]\nname = \"debian\"\nversion = \"12\"\n[previous-image]\nreference = \"p\"\n[previous-image.metadata]\n",
		"buildpack-default-process-type = \"web\"\n[[buildpacks]]\nid = \"a\"\nversion = \"1\"\n[[processes]]\ntype = \"web\"\ncommand = \"x\"\nargs = [\"a\"]\ndirect = true\nbuildpack-id = \"a\"\n[[processes]]\ntype = \"w\"\ncommand = [\"y\", \"z\"]\n[[labels]]\nkey = \"k\"\nvalue = \"v\"\n",
		"[source]\ntype = \"git\"\n[source.version]\ncommit = \"abc\"\n[source.metadata]\nurl = \"https://example.com/r.git\"\n",
	} {
		f.Add(uint8(k), []byte(s))
		f.Add(uint8(k), []byte("x = nan\n"+s))
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "in.toml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		back := filepath.Join(dir, "back.toml")
		var read, again any
		var err error
		switch kind % 6 {
		case 0:
			var g Group
			if g, err = ReadGroup(p); err == nil {
				if werr := WriteGroup(back, g); werr != nil {
					t.Fatalf("writing the group read: %v", werr)
				}
				read, again = g, must(t, ReadGroup, back)
			}
		case 1:
			var o Order
			if o, err = ReadOrder(p); err == nil {
				if werr := writeTOML(back, orderFile{Order: o}); werr != nil {
					t.Fatalf("writing the order read: %v", werr)
				}
				read, again = o, must(t, ReadOrder, back)
			}
		case 2:
			var pl Plan
			if pl, err = ReadPlan(p); err == nil {
				if werr := WritePlan(back, pl); werr != nil {
					t.Fatalf("writing the plan read: %v", werr)
				}
				read, again = pl, must(t, ReadPlan, back)
			}
		case 3:
			var a Analyzed
			if a, err = ReadAnalyzed(p); err == nil {
				if werr := WriteAnalyzed(back, a); werr != nil {
					t.Fatalf("writing the analyzed metadata read: %v", werr)
				}
				read, again = a, must(t, ReadAnalyzed, back)
			}
		case 4:
			var m BuildMetadata
			if m, err = ReadBuildMetadata(p); err == nil {
				if werr := writeTOML(back, metadataFileOf(m, api.Platform.Max)); werr != nil {
					t.Fatalf("writing the build metadata read: %v", werr)
				}
				read, again = m, must(t, ReadBuildMetadata, back)
			}
		case 5:
			var m ProjectMetadata
			if m, err = ReadProjectMetadata(p); err == nil {
				if werr := writeTOML(back, m); werr != nil {
					t.Fatalf("writing the project metadata read: %v", werr)
				}
				read, again = m, must(t, ReadProjectMetadata, back)
			}
		}
		if err != nil {
			nameErr(t, err, p)
			return
		}
		if diff := cmp.Diff(read, again, cmpopts.EquateEmpty(), cmpopts.EquateNaNs(), cmp.AllowUnexported(Analyzed{})); diff != "" {
			t.Fatalf("changed through kiln's writer (-read +again):\n%s", diff)
		}
	})
}

// must reads back a file kiln wrote.
func must[T any](t *testing.T, read func(string) (T, error), p string) T {
	t.Helper()
	v, err := read(p)
	if err != nil {
		b, _ := os.ReadFile(p)
		t.Fatalf("reading back what kiln wrote: %v\n%s", err, b)
	}
	return v
}
