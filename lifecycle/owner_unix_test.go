//go:build unix

package lifecycle

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// What a phase creates for buildpacks to write belongs to the Owner.
func TestOwner(t *testing.T) {
	owner := &Owner{UID: os.Getuid(), GID: os.Getgid()}
	if owner.UID == 0 {
		owner = &Owner{UID: 65534, GID: 65534}
	}
	dir := t.TempDir()
	inlineBuildpack(t, dir, "test/x", "0.9", "", "exit 0", "exit 0")
	p := testPaths(t, dir)
	b := &Builder{Paths: p, Runner: ExecRunner{}, Group: Group{Group: []GroupEntry{ref("test/x")}}, Env: baseEnv, Owner: owner}
	if _, err := b.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(p.Layers.Host, "test_x"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != owner.UID || int(st.Gid) != owner.GID {
		t.Errorf("<layers>/test_x is owned by %d:%d, want %d:%d", st.Uid, st.Gid, owner.UID, owner.GID)
	}
}
