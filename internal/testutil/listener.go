package testutil

import (
	"net"
	"testing"
)

// GreetingServer listens on a free port of 127.0.0.1 and writes greeting to
// every connection, then closes it; it stops when t ends. It returns the
// port. Tests use it to see whether a sandboxed process reaches the host.
func GreetingServer(t testing.TB, greeting string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(greeting))
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
