package stackgen

import (
	"errors"
	"testing"
)

func TestAddAccount(t *testing.T) {
	const (
		passwd = "root:x:0:0:root:/root:/bin/sh\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh" // no final newline
		group  = "root:x:0:\nalice:x:1000:\nstaff:x:50:\n"
	)
	tests := []struct {
		name              string
		user, grp         string
		uid, gid          int
		wantPasswd        string
		wantGroup         string
		wantUser, wantGrp string
		wantHome          string
		wantErr           error
	}{
		{name: "new user and group", uid: 2000, gid: 2000,
			wantPasswd: passwd + "\ncnb:x:2000:2000::/home/cnb:/bin/sh\n", wantGroup: group + "cnb:x:2000:\n",
			wantUser: "cnb", wantGrp: "cnb", wantHome: "/home/cnb"},
		{name: "named user, existing group", user: "bob", uid: 2000, gid: 50,
			wantPasswd: passwd + "\nbob:x:2000:50::/home/bob:/bin/sh\n", wantGroup: group,
			wantUser: "bob", wantGrp: "staff", wantHome: "/home/bob"},
		{name: "existing user reused", uid: 1000, gid: 1000, wantPasswd: passwd, wantGroup: group,
			wantUser: "alice", wantGrp: "alice", wantHome: "/home/alice"},
		{name: "existing user reused by name", user: "alice", uid: 1000, gid: 1000, wantPasswd: passwd, wantGroup: group,
			wantUser: "alice", wantGrp: "alice", wantHome: "/home/alice"},
		{name: "uid taken by another name", user: "bob", uid: 1000, gid: 1000, wantErr: ErrUserClash},
		{name: "user name taken by another uid", user: "alice", uid: 1001, gid: 1000, wantErr: ErrUserClash},
		{name: "group name taken by another gid", grp: "staff", uid: 2000, gid: 2000, wantErr: ErrUserClash},
		{name: "gid taken by another group name", grp: "devs", uid: 2000, gid: 50, wantErr: ErrUserClash},
		{name: "reused user with another primary group", uid: 1000, gid: 50, wantErr: ErrUserClash},
		{name: "root", uid: 0, gid: 1000, wantErr: ErrRootUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, g, acct, err := addAccount([]byte(passwd), []byte(group), tt.user, tt.grp, tt.uid, tt.gid)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(p) != tt.wantPasswd || string(g) != tt.wantGroup {
				t.Errorf("passwd = %q, group = %q\nwant %q, %q", p, g, tt.wantPasswd, tt.wantGroup)
			}
			if acct.user != tt.wantUser || acct.group != tt.wantGrp || acct.home != tt.wantHome {
				t.Errorf("account = %+v", acct)
			}
		})
	}
}

func TestParseOSRelease(t *testing.T) {
	got := parseOSRelease([]byte("# c\nID=debian\nVERSION_ID=\"12\"\nNAME='Debian GNU/Linux'\nPRETTY_NAME=\"Debian \\\"x\\\"\"\n"))
	if got["ID"] != "debian" || got["VERSION_ID"] != "12" || got["NAME"] != "Debian GNU/Linux" || got["PRETTY_NAME"] != `Debian "x"` {
		t.Errorf("parseOSRelease = %v", got)
	}
}
