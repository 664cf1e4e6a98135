package oci

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnbuild/kiln/internal/testutil"
)

// TestUnpackHostile unpacks tars built to escape the target directory. The
// target is base/root; base/outside holds a canary. Whatever a case
// expects — a clear error or a result contained in root — nothing outside
// root may change: the canary keeps its content and no new file appears
// beside it or beside root.
func TestUnpackHostile(t *testing.T) {
	const canary = "canary"
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
			writeFile(t, filepath.Join(outside, "canary"), canary, 0o644)
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			var tars [][]byte
			for _, l := range tc.layers(outside) {
				tars = append(tars, tarOf(t, l...))
			}
			err := unpackTars(root, UnpackOptions{Rootless: testutil.Rootless()}, tars...)
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && err != nil:
				t.Errorf("err = %v, want a contained result", err)
			case tc.wantErr == nil:
				tc.check(t, root)
			}
			if got := readFile(t, filepath.Join(outside, "canary")); got != canary {
				t.Errorf("canary outside changed to %q", got)
			}
			if diff := cmp.Diff([]string{"canary -rw-r--r-- canary"}, listTree(t, outside)); diff != "" {
				t.Errorf("outside changed (-want +got):\n%s", diff)
			}
			names, err := os.ReadDir(base)
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != 2 {
				t.Errorf("base holds %d entries, want outside and root only", len(names))
			}
		})
	}
}

// hostileCase is a tar built to escape the target directory root, whose
// sibling outside holds a canary (FuzzUnpack seeds its corpus with them).
type hostileCase struct {
	name    string
	layers  func(outside string) [][]tentry
	wantErr error                    // nil: the unpack succeeds, contained
	check   func(*testing.T, string) // on root, when the unpack succeeds
}

// contained returns a check that the listed paths exist inside root (as
// the given listTree lines).
func contained(want ...string) func(*testing.T, string) {
	return func(t *testing.T, root string) {
		t.Helper()
		got := map[string]bool{}
		for _, l := range listTree(t, root) {
			got[l] = true
		}
		for _, w := range want {
			if !got[w] {
				t.Errorf("missing %q in root; root holds:\n%v", w, listTree(t, root))
			}
		}
	}
}

func hostileCases() []hostileCase {
	return []hostileCase{{
		name:    "dotdot name",
		layers:  func(string) [][]tentry { return [][]tentry{{tfile("../outside/evil", "x")}} },
		wantErr: ErrUnsafePath,
	}, {
		name:    "deep relative escape",
		layers:  func(string) [][]tentry { return [][]tentry{{tfile("a/b/../../../outside/canary", "x")}} },
		wantErr: ErrUnsafePath,
	}, {
		name:    "dotdot after a real directory",
		layers:  func(string) [][]tentry { return [][]tentry{{tdir("a"), tfile("a/../../outside/canary", "x")}} },
		wantErr: ErrUnsafePath,
	}, {
		name: "absolute name of the outside directory",
		layers: func(outside string) [][]tentry {
			return [][]tentry{{tfile(filepath.Join(outside, "canary"), "pwned")}}
		},
		check: func(t *testing.T, root string) {
			outside := filepath.Join(filepath.Dir(root), "outside")
			contained(filepath.Join(outside[1:], "canary")+" -rw-r--r-- pwned")(t, root)
		},
	}, {
		name:   "symlink to / then a file through it (CVE-2021-29136)",
		layers: func(string) [][]tentry { return [][]tentry{{tsym("rootlink", "/"), tfile("rootlink/evil", "x")}} },
		check:  contained("rootlink -> /", "evil -rw-r--r-- x"),
	}, {
		name:   "symlink to . then a file through it",
		layers: func(string) [][]tentry { return [][]tentry{{tsym("dot", "."), tfile("dot/dot/evil", "x")}} },
		check:  contained("dot -> .", "evil -rw-r--r-- x"),
	}, {
		name: "symlink climbing out then a file through it",
		layers: func(string) [][]tentry {
			return [][]tentry{{tsym("up", "../../../../outside"), tfile("up/canary", "pwned")}}
		},
		check: contained("outside/ rwxr-xr-x", "outside/canary -rw-r--r-- pwned"),
	}, {
		name: "file through a parent symlinked to the absolute outside path, across layers",
		layers: func(outside string) [][]tentry {
			return [][]tentry{{tsym("dir", outside)}, {tfile("dir/canary", "pwned"), tdir("dir/sub"), tfile("dir/sub/new", "n")}}
		},
		check: func(t *testing.T, root string) {
			outside := filepath.Join(filepath.Dir(root), "outside")
			contained(filepath.Join(outside[1:], "canary")+" -rw-r--r-- pwned", filepath.Join(outside[1:], "sub/new")+" -rw-r--r-- n")(t, root)
		},
	}, {
		name: "file replacing a symlink to an outside file",
		layers: func(outside string) [][]tentry {
			return [][]tentry{{tsym("f", filepath.Join(outside, "canary"))}, {tfile("f", "pwned")}}
		},
		check: contained("f -rw-r--r-- pwned"),
	}, {
		name:    "hard link climbing out",
		layers:  func(string) [][]tentry { return [][]tentry{{tlink("h", "../outside/canary")}} },
		wantErr: ErrUnsafePath,
	}, {
		name: "hard link to the absolute outside path",
		layers: func(outside string) [][]tentry {
			return [][]tentry{{tlink("h", filepath.Join(outside, "canary"))}}
		},
		wantErr: os.ErrNotExist, // resolved inside root, where there is no such file
	}, {
		name: "hard link through a symlink to outside",
		layers: func(outside string) [][]tentry {
			return [][]tentry{{tsym("s", outside), tlink("h", "s/canary")}}
		},
		wantErr: os.ErrNotExist,
	}, {
		name: "hard link to a symlink pointing outside links the symlink",
		layers: func(outside string) [][]tentry {
			return [][]tentry{{tsym("s", filepath.Join(outside, "canary")), tlink("h", "s"), tfile("h", "pwned")}}
		},
		check: func(t *testing.T, root string) {
			contained("h -rw-r--r-- pwned")(t, root)
		},
	}, {
		name:    "whiteout climbing out",
		layers:  func(string) [][]tentry { return [][]tentry{{tfile("../outside/.wh.canary", "")}} },
		wantErr: ErrUnsafePath,
	}, {
		name:    "whiteout of ..",
		layers:  func(string) [][]tentry { return [][]tentry{{tdir("a"), tfile("a/.wh...", "")}} },
		wantErr: ErrUnsafePath,
	}, {
		name: "whiteouts through a symlink to outside",
		layers: func(outside string) [][]tentry {
			return [][]tentry{{tsym("s", outside), tsym("up", "../outside")}, {tfile("s/.wh.canary", ""), tfile("up/.wh..wh..opq", "")}}
		},
		check: func(t *testing.T, root string) {
			contained("s -> "+filepath.Join(filepath.Dir(root), "outside"), "up -> ../outside")(t, root)
		},
	}, {
		name: "symlink replaced by a directory",
		layers: func(outside string) [][]tentry {
			return [][]tentry{{tsym("a", outside)}, {tdir("a"), tfile("a/canary", "pwned")}}
		},
		check: contained("a/ rwxr-xr-x", "a/canary -rw-r--r-- pwned"),
	}, {
		// Made here, .wh.x would read back as a whiteout from a layer of
		// the tree (found by FuzzUnpackEntries).
		name:    "a whiteout name as a parent directory",
		layers:  func(string) [][]tentry { return [][]tentry{{tfile(".wh.x/f", "x")}} },
		wantErr: ErrUnsupportedEntry,
	}, {
		name:    "a parent symlinked to a whiteout name",
		layers:  func(string) [][]tentry { return [][]tentry{{tsym("a", ".wh."), tfile("a/b", "x")}} },
		wantErr: ErrUnsupportedEntry,
	}}
}
