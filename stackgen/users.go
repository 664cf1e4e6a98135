package stackgen

import (
	"fmt"
	"strconv"
	"strings"
)

// account is the CNB user as it ends up in the image.
type account struct {
	user, group string
	uid, gid    int
	home        string
}

// addAccount edits the contents of /etc/passwd and /etc/group (either may
// be nil for an empty file) so that they hold a user uid with primary group
// gid. An existing user with that UID is reused, as is an existing group
// with that GID; a name asked for that is bound to another ID, or a UID
// bound to another name than asked, is an error wrapping ErrUserClash. It
// returns the new contents (unchanged when nothing was added) and the
// account.
func addAccount(passwd, group []byte, userName, groupName string, uid, gid int) (newPasswd, newGroup []byte, acct account, err error) {
	if uid == 0 || gid == 0 {
		return nil, nil, acct, fmt.Errorf("adding user %d:%d: %w", uid, gid, ErrRootUser)
	}
	acct = account{uid: uid, gid: gid}

	groups := parseDB(group)
	if g := groups.byID(gid); g != nil {
		if groupName != "" && g[0] != groupName {
			return nil, nil, acct, fmt.Errorf("adding group %s: GID %d is already group %q: %w", groupName, gid, g[0], ErrUserClash)
		}
		acct.group = g[0]
	} else {
		acct.group = groupName
		if acct.group == "" {
			acct.group = userName
		}
		if acct.group == "" {
			acct.group = "cnb"
		}
		if g := groups.byName(acct.group); g != nil {
			return nil, nil, acct, fmt.Errorf("adding group %s with GID %d: the name already has GID %s: %w", acct.group, gid, g[2], ErrUserClash)
		}
		group = appendLine(group, fmt.Sprintf("%s:x:%d:", acct.group, gid))
	}

	users := parseDB(passwd)
	if u := users.byID(uid); u != nil {
		if userName != "" && u[0] != userName {
			return nil, nil, acct, fmt.Errorf("adding user %s: UID %d is already user %q: %w", userName, uid, u[0], ErrUserClash)
		}
		if len(u) < 6 || u[3] != strconv.Itoa(gid) {
			return nil, nil, acct, fmt.Errorf("reusing user %s (UID %d): its primary group is not GID %d: %w", u[0], uid, gid, ErrUserClash)
		}
		acct.user, acct.home = u[0], u[5]
		return passwd, group, acct, nil
	}
	acct.user = userName
	if acct.user == "" {
		acct.user = "cnb"
	}
	if u := users.byName(acct.user); u != nil {
		return nil, nil, acct, fmt.Errorf("adding user %s with UID %d: the name already has UID %s: %w", acct.user, uid, u[2], ErrUserClash)
	}
	acct.home = "/home/" + acct.user
	passwd = appendLine(passwd, fmt.Sprintf("%s:x:%d:%d::%s:/bin/sh", acct.user, uid, gid, acct.home))
	return passwd, group, acct, nil
}

// db is a colon-separated database such as /etc/passwd, one record per
// line, comments and blank lines dropped.
type db [][]string

func parseDB(b []byte) db {
	var out db
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}

func (d db) byName(name string) []string {
	for _, r := range d {
		if r[0] == name {
			return r
		}
	}
	return nil
}

// byID finds the record whose third field (UID or GID) is id.
func (d db) byID(id int) []string {
	s := strconv.Itoa(id)
	for _, r := range d {
		if len(r) > 2 && r[2] == s {
			return r
		}
	}
	return nil
}

// appendLine appends line to b, adding the newline b lacks at its end.
func appendLine(b []byte, line string) []byte {
	out := append([]byte{}, b...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(append(out, line...), '\n')
}

// skeletonPasswd and skeletonGroup are the accounts of an image built only
// from packages, as distroless images have them.
const (
	skeletonPasswd = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
	skeletonGroup  = "root:x:0:\nnogroup:x:65534:\n"
)
