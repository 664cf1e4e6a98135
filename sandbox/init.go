package sandbox

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	_ "github.com/opencontainers/runc/libcontainer/nsenter" // the C constructor of "runc init"
)

// Environment variables that select a re-executed kiln's role. They are
// set only by the sandbox for processes it starts itself, never taken from
// users, so `kiln init` or `kiln pause` remain ordinary (unknown) commands.
const (
	roleEnv    = "_KILN_SANDBOX_ROLE"
	rolePause  = "pause"
	roleZygote = "zygote"
	// idsEnv says how the pause shim gives a zygote its uid:gid: idsNested
	// (a nested user namespace mapping it onto the container's root),
	// idsKeep (the shim's own ids: LevelNone as an ordinary user), or,
	// when unset, setuid and setgid (root).
	idsEnv    = "_KILN_SANDBOX_IDS"
	idsNested = "nested"
	idsKeep   = "keep"
	// reapEnv "1": the pause shim is not a PID namespace's init, so it
	// makes itself the subreaper of what it starts and kills what is left
	// of it, orphans included, when it exits.
	reapEnv = "_KILN_SANDBOX_REAP"
	// rlimitsEnv carries the rlimits the pause shim sets on itself at
	// LevelNone ("RESOURCE:SOFT:HARD,…"), where libcontainer does not.
	rlimitsEnv = "_KILN_SANDBOX_RLIMITS"
)

// Init is the re-exec hook. Programs that use the sandbox must call it
// first thing, from a package init function of package main (and tests
// from TestMain), before any flag parsing:
//
//	func init() { sandbox.Init() }
//
// In a process started by the sandbox it runs that process's part and
// never returns: libcontainer's container init ("runc init"), the
// container's PID 1 (the pause shim: reaper and parent-death watch) or a
// zygote (the spawner of the container's processes). In any other process
// it returns at once.
func Init() {
	if len(os.Args) > 1 && os.Args[1] == "init" && os.Getenv("_LIBCONTAINER_INITPIPE") != "" {
		quietLogrus()
		libcontainer.Init() // never returns
	}
	switch os.Getenv(roleEnv) {
	case rolePause:
		os.Exit(pauseMain())
	case roleZygote:
		os.Exit(zygoteMain())
	}
}
