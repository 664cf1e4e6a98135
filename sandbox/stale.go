package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Container ids name their owner: "kiln-PID-START-RANDOM", where START is
// the owner's start time in clock ticks since boot, so that a reused pid
// is not mistaken for the owner. State whose owner is gone was left by a
// kiln that crashed or was killed, and the next Start removes it; state of
// a live kiln sharing the state directory is left alone.

func newID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("kiln-%d-%d-%s", os.Getpid(), startTime(os.Getpid()), hex.EncodeToString(b))
}

// startTime is field 22 of /proc/PID/stat, or 0.
func startTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may contain spaces: split after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// ownerAlive reports whether the kiln that created id still runs.
func ownerAlive(id string) bool {
	parts := strings.Split(id, "-")
	if len(parts) != 4 || parts[0] != "kiln" {
		return true // not ours: leave it
	}
	pid, err1 := strconv.Atoi(parts[1])
	start, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return true
	}
	return startTime(pid) == start
}

// cleanStale removes the views (and any older state) in stateDir whose
// owner is gone. Their containers died with their owner: an init exits
// when the control socket closes. A view holds only empty mount points
// (the mounts were in the container's own mount namespace), so removing it
// is safe.
func cleanStale(stateDir string, log *slog.Logger) {
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		id, _ := strings.CutSuffix(e.Name(), ".root")
		if ownerAlive(id) {
			continue
		}
		log.Debug("removing stale sandbox state", "id", id)
		os.RemoveAll(filepath.Join(stateDir, e.Name()))
	}
}
