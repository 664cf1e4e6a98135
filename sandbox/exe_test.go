package sandbox

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSealedExecutable: the copy the inits run is kiln's executable byte
// for byte, and can be neither written, reopened for writing, resized nor
// unsealed.
func TestSealedExecutable(t *testing.T) {
	p, err := sealedExecutable()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the sealed copy differs from the executable (%v)", err)
	}
	if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
		_, werr := f.Write([]byte("x"))
		f.Close()
		if !errors.Is(werr, unix.EPERM) {
			t.Errorf("writing the sealed copy: %v, want EPERM", werr)
		}
	}
	fd := int(sealed.f.Fd())
	if err := unix.Ftruncate(fd, 1); !errors.Is(err, unix.EPERM) {
		t.Errorf("shrinking the sealed copy: %v, want EPERM", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_FUTURE_WRITE); !errors.Is(err, unix.EPERM) {
		t.Errorf("changing the seals: %v, want EPERM", err)
	}
	if _, err := unix.Mmap(fd, 0, 4096, unix.PROT_WRITE, unix.MAP_SHARED); !errors.Is(err, unix.EPERM) {
		t.Errorf("mapping the sealed copy writable: %v, want EPERM", err)
	}
	if p2, _ := sealedExecutable(); p2 != p {
		t.Errorf("a second copy: %s, then %s", p, p2)
	}
}
