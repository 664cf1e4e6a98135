// Command launcher is the CNB launcher placed at /cnb/lifecycle/launcher in
// every image kiln builds. It is built on the standard library only (see
// lifecycle/launch) and carried inside kiln; it is never downloaded.
package main

import "os"

func main() {
	os.Stderr.WriteString("launcher: not implemented yet (issue #5)\n")
	os.Exit(82)
}
