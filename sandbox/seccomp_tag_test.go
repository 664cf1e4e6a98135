//go:build cgo && seccomp

package sandbox_test

// wantSeccomp is the Seccomp field of /proc/self/status: 2, a filter.
const wantSeccomp = "2"
