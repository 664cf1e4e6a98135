package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// imageUser is whom a process of `kiln run` runs as.
type imageUser struct {
	uid, gid int
	home     string
}

// lookupUser resolves a docker-style user, "" (root), UID, NAME, UID:GID or
// NAME:GROUP, against the image's /etc/passwd and /etc/group. A numeric uid
// needs no entry; without one, its group is 0 and its home "/", as with
// docker.
func lookupUser(rootfs, spec string) (imageUser, error) {
	name, group, hasGroup := strings.Cut(spec, ":")
	u := imageUser{home: "/"}
	if name == "" {
		name = "0"
	}
	passwd := readColonFile(rootfs, "/etc/passwd") // name:x:uid:gid:gecos:home:shell
	uid, err := strconv.Atoi(name)
	found := false
	for _, f := range passwd {
		if len(f) < 7 {
			continue
		}
		if (err == nil && f[2] == name) || (err != nil && f[0] == name) {
			u.uid, _ = strconv.Atoi(f[2])
			u.gid, _ = strconv.Atoi(f[3])
			u.home = f[5]
			found = true
			break
		}
	}
	switch {
	case !found && err != nil:
		return imageUser{}, fmt.Errorf("user %q: no such user in the image's /etc/passwd", name)
	case !found:
		u.uid = uid
		if uid == 0 {
			u.home = "/root"
		}
	}
	if !hasGroup {
		return u, nil
	}
	if gid, err := strconv.Atoi(group); err == nil {
		u.gid = gid
		return u, nil
	}
	for _, f := range readColonFile(rootfs, "/etc/group") { // name:x:gid:members
		if len(f) >= 3 && f[0] == group {
			u.gid, _ = strconv.Atoi(f[2])
			return u, nil
		}
	}
	return imageUser{}, fmt.Errorf("group %q: no such group in the image's /etc/group", group)
}

// readColonFile reads a passwd-style file of the image, resolving its path
// inside rootfs; a missing or unreadable file reads as empty.
func readColonFile(rootfs, name string) [][]string {
	p, err := securejoin.SecureJoin(rootfs, name)
	if err != nil {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	var rows [][]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rows = append(rows, strings.Split(line, ":"))
	}
	return rows
}
