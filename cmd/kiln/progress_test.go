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
		{Phase: oci.PhasePush, Ref: "reg/app:1", Blob: blob, Present: true, Done: true},
		// The pulled blob unpacked later is a new item.
		{Phase: oci.PhaseUnpack, Ref: "sha256:cd", Blob: blob, Total: 3 << 20},
		{Phase: oci.PhaseUnpack, Ref: "sha256:cd", Blob: blob, Complete: 3 << 20, Total: 3 << 20, Done: true},
		{Phase: oci.PhaseUnpack, Ref: "sha256:cd", Complete: 3 << 20, Total: 3 << 20, Done: true},
		{Phase: oci.PhaseLayer, Complete: 4 << 20},
		{Phase: oci.PhaseLayer, Complete: 5 << 20, Done: true},
	}
	for _, tc := range []struct {
		tty   bool
		width int
		label string
		want  string
	}{
		{false, 0, "", "pulled r sha256:abababababab 3.0 MiB\npushed reg/app:1 2.0 KiB\n" +
			"already present in reg/app:1 sha256:abababababab\n" +
			"unpacked image sha256:cd sha256:abababababab 3.0 MiB\nunpacked image sha256:cd 3.0 MiB\n"},
		{false, 0, "builder", "pulled builder r sha256:abababababab 3.0 MiB\npushed builder reg/app:1 2.0 KiB\n" +
			"already present in builder reg/app:1 sha256:abababababab\n" +
			"unpacked builder image sha256:cd sha256:abababababab 3.0 MiB\nunpacked builder image sha256:cd 3.0 MiB\n"},
		{true, 0, "", "\r\033[Kpulling r sha256:abababababab 0 B/3.0 MiB" +
			"\r\033[Kpulling r sha256:abababababab 1.0 MiB/3.0 MiB" +
			"\r\033[Kpulled r sha256:abababababab 3.0 MiB\n" +
			"\r\033[Kpushed reg/app:1 2.0 KiB\n" +
			"\r\033[Kalready present in reg/app:1 sha256:abababababab\n" +
			"\r\033[Kunpacking image sha256:cd sha256:abababababab 0 B/3.0 MiB" +
			"\r\033[Kunpacked image sha256:cd sha256:abababababab 3.0 MiB\n" +
			"\r\033[Kunpacked image sha256:cd 3.0 MiB\n" +
			"\r\033[Kcompressing a new layer 4.0 MiB" +
			"\r\033[Kcompressed a new layer 5.0 MiB\n"},
		// 30 columns: the digest goes first, then the byte counts; a line
		// never reaches the last column.
		{true, 30, "", "\r\033[Kpulling r 0 B/3.0 MiB" +
			"\r\033[Kpulling r 1.0 MiB/3.0 MiB" +
			"\r\033[Kpulled r 3.0 MiB\n" +
			"\r\033[Kpushed reg/app:1 2.0 KiB\n" +
			"\r\033[Kalready present in reg/app:1\n" +
			"\r\033[Kunpacking image sha256:cd" +
			"\r\033[Kunpacked image sha256:cd\n" +
			"\r\033[Kunpacked image sha256:cd\n" +
			"\r\033[Kcompressing a new layer" +
			"\r\033[Kcompressed a new layer\n"},
	} {
		var b strings.Builder
		p := &progressPrinter{w: &b, tty: tc.tty, width: tc.width, label: tc.label, last: map[string]int{}}
		for _, e := range events {
			p.report(e)
		}
		if b.String() != tc.want {
			t.Errorf("tty=%v width=%d label=%q:\n got %q\nwant %q", tc.tty, tc.width, tc.label, b.String(), tc.want)
		}
	}
	if isTerminal(&strings.Builder{}) {
		t.Error("a strings.Builder is not a terminal")
	}
}
