package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// abstractClient is a verb of this test binary, run inside kiln run's
// container: `kiln-test-abstract NAME` connects to the abstract unix
// socket @NAME and prints the line it is sent.
const abstractClient = "kiln-test-abstract"

func init() {
	if len(os.Args) == 3 && os.Args[1] == abstractClient {
		c, err := net.Dial("unix", "@"+os.Args[2])
		if err != nil {
			fmt.Println("no connection:", err)
			os.Exit(1)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Print(line)
		os.Exit(0)
	}
}

// abstractServer listens on a fresh abstract unix socket of the host's
// network namespace and tells each client the uid it connected as, the
// only thing such a socket can check. It returns the socket's name.
func abstractServer(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "kiln-test-" + hex.EncodeToString(b)
	l, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			raw, _ := c.(*net.UnixConn).SyscallConn()
			var cred *unix.Ucred
			raw.Control(func(fd uintptr) { cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
			if cred != nil {
				fmt.Fprintf(c, "connected as uid %d\n", cred.Uid)
			}
			c.Close()
		}
	}()
	return name
}

// TestRunRootNetwork: a process that would run as the machine's root gets
// no host abstract unix sockets unless --network host says so (the class
// of CVE-2020-15257); any other process shares the host's network.
func TestRunRootNetwork(t *testing.T) {
	img := busyboxImage(t)
	name := abstractServer(t)
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	tool := []string{"--volume", self + ":/tool:ro", "--entrypoint", "/tool"}
	connect := func(args ...string) (string, string, int) {
		t.Helper()
		return kilnRun(t, "", append(append(append([]string{}, tool...), args...), img, abstractClient, name)...)
	}
	me := os.Geteuid()
	if os.Geteuid() == 0 && !userNSRoot() {
		out, errOut, code := connect("--user", "0")
		if code != 1 || !strings.HasPrefix(out, "no connection:") || !strings.Contains(errOut, "run as root on this machine: they get a private network") {
			t.Errorf("root by default: exit %d, stdout %q, stderr %q; want no connection and the note", code, out, errOut)
		}
		out, _, code = connect("--user", "0", "--network", "host")
		if code != 0 || out != "connected as uid 0\n" {
			t.Errorf("root with --network host: exit %d, %q", code, out)
		}
		out, errOut, code = kilnRun(t, "", "--sandbox", "none", "rootfs:/", "true")
		if code == 0 || !strings.Contains(errOut, "give --network host to allow it") {
			t.Errorf("root at the none level: exit %d, stderr %q; want a refusal", code, errOut)
		}
		me = 1000
	}
	// An ordinary user's process (rootless: its root is the caller).
	user := "1000"
	if me != 1000 {
		user = "0"
	}
	out, errOut, code := connect("--user", user)
	if want := fmt.Sprintf("connected as uid %d\n", me); code != 0 || out != want || strings.Contains(errOut, "private network") {
		t.Errorf("--user %s: exit %d, stdout %q, stderr %q; want %q", user, code, out, errOut, want)
	}
}

// userNSRoot reports whether kiln's root is root only in a user namespace.
func userNSRoot() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && strings.Join(strings.Fields(string(b)), " ") != "0 0 4294967295"
}
