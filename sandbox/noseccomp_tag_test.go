//go:build !(cgo && seccomp)

package sandbox_test

// wantSeccomp is the Seccomp field of /proc/self/status: 0, no filter.
const wantSeccomp = "0"
