package main

import (
	"bytes"
	"debug/elf"
	"strings"
	"testing"

	"github.com/kilnbuild/kiln/internal/testutil"
)

func TestLauncherBinary(t *testing.T) {
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for arch, machine := range machines {
		t.Run(arch, func(t *testing.T) {
			b, err := launcherBinary(arch)
			if err != nil {
				if !strings.Contains(err.Error(), "run make build") {
					t.Fatalf("error %q does not say how to get the launcher", err)
				}
				testutil.Skip(t, "this kiln test binary was built without the launcher (make build embeds it)")
			}
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != machine {
				t.Errorf("machine %v, want %v", f.Machine, machine)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Error("the embedded launcher is dynamically linked")
				}
			}
		})
	}
	if _, err := launcherBinary("mips"); err == nil || !strings.Contains(err.Error(), "linux/mips") {
		t.Errorf("launcherBinary(mips) = %v, want an error naming linux/mips", err)
	}
}
