package main

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kilnbuild/kiln/oci"
)

func TestProgressPrinter(t *testing.T) {
	blob := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	events := []oci.Progress{
		{Phase: oci.PhasePull, Ref: "r", Blob: blob, Total: 3 << 20},
		{Phase: oci.PhasePull, Ref: "r", Blob: blob, Complete: 1 << 20, Total: 3 << 20},
		{Phase: oci.PhasePull, Ref: "r", Blob: blob, Complete: 1<<20 + 10, Total: 3 << 20}, // same percentage
		{Phase: oci.PhasePull, Ref: "r", Blob: blob, Complete: 3 << 20, Total: 3 << 20, Done: true},
		{Phase: oci.PhasePush, Ref: "reg/app:1", Complete: 2048, Total: 2048, Done: true},
		{Phase: oci.PhasePush, Ref: "reg/app:1", Complete: 2048, Total: 2048, Done: true}, // ggcr repeats it
		// The pulled blob unpacked later is a new item.
		{Phase: oci.PhaseUnpack, Ref: "sha256:cd", Blob: blob, Total: 3 << 20},
		{Phase: oci.PhaseUnpack, Ref: "sha256:cd", Blob: blob, Complete: 3 << 20, Total: 3 << 20, Done: true},
		{Phase: oci.PhaseUnpack, Ref: "sha256:cd", Complete: 3 << 20, Total: 3 << 20, Done: true},
	}
	for _, tc := range []struct {
		tty  bool
		want string
	}{
		{false, "pulled sha256:abababababab 3.0 MiB\npushed reg/app:1 2.0 KiB\n" +
			"unpacked sha256:abababababab 3.0 MiB\nunpacked image sha256:cd 3.0 MiB\n"},
		{true, "\r\033[Kpulling sha256:abababababab 0 B/3.0 MiB" +
			"\r\033[Kpulling sha256:abababababab 1.0 MiB/3.0 MiB" +
			"\r\033[Kpulling sha256:abababababab 3.0 MiB/3.0 MiB\r\033[Kpulled sha256:abababababab 3.0 MiB\n" +
			"\r\033[Kpushing reg/app:1 2.0 KiB/2.0 KiB\r\033[Kpushed reg/app:1 2.0 KiB\n" +
			"\r\033[Kunpacking sha256:abababababab 0 B/3.0 MiB" +
			"\r\033[Kunpacking sha256:abababababab 3.0 MiB/3.0 MiB\r\033[Kunpacked sha256:abababababab 3.0 MiB\n" +
			"\r\033[Kunpacking image sha256:cd 3.0 MiB/3.0 MiB\r\033[Kunpacked image sha256:cd 3.0 MiB\n"},
	} {
		var b strings.Builder
		p := &progressPrinter{w: &b, tty: tc.tty, last: map[string]int{}}
		for _, e := range events {
			p.report(e)
		}
		if b.String() != tc.want {
			t.Errorf("tty=%v:\n got %q\nwant %q", tc.tty, b.String(), tc.want)
		}
	}
	if isTerminal(&strings.Builder{}) {
		t.Error("a strings.Builder is not a terminal")
	}
}
