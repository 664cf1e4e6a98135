package sandbox

import "os"

// Environment variable that selects a re-executed kiln's role. It is set
// only by the sandbox for the processes it starts itself, never taken from
// users, so `kiln init` remains an ordinary (unknown) command.
const (
	roleEnv  = "_KILN_SANDBOX_ROLE"
	roleInit = "init"
)

// Init is the re-exec hook. Programs that use the sandbox must call it
// first thing, from a package init function of package main (and tests
// from TestMain), before any flag parsing:
//
//	func init() { sandbox.Init() }
//
// In a container's init (shim.go), started by the sandbox, it runs that
// and never returns. In any other process it returns at once.
func Init() {
	if os.Getenv(roleEnv) == roleInit {
		os.Exit(shimMain())
	}
}
