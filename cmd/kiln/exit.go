package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/oci"
)

// exitCoder is implemented by errors that carry a process exit code, such as
// the CNB phase errors (20 no group passed, 51 buildpack build failed, …) and
// the exit status of a process run by `kiln run`.
type exitCoder interface {
	ExitCode() int
}

// silentError is an exit code that has already been reported to the user.
type silentError int

func (e silentError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e silentError) ExitCode() int { return int(e) }

// exitCode prints err (unless it is silent) and maps it to an exit code.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var se silentError
	if errors.As(err, &se) {
		return int(se)
	}
	fmt.Fprintf(stderr, "ERROR: %v\n", err)
	for _, h := range hints(err) {
		fmt.Fprintf(stderr, "hint: %s\n", h)
	}
	return exitCodeOf(err)
}

// exitCodeOf is the exit code kiln exits with for err.
func exitCodeOf(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

// errorHints are what to do about errors a library reports by sentinel,
// in terms of kiln's flags, which libraries do not know.
var errorHints = []struct {
	err  error
	hint string
}{
	{oci.ErrNoPlatform, "the image has no such platform: leave --platform out, or name one the image has (kiln inspect shows it)"},
	{oci.ErrNotInStore, "the pull policy is never (--pull never, KILN_PULL or kiln config): pull the image once with --pull if-missing"},
	{oci.ErrPathReference, "images on disk are written oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]"},
	{lifecycle.ErrNoGroupPassed, "run kiln build with -v to see what each buildpack's detect printed"},
	{lifecycle.ErrBuildpackErrored, "run kiln build with -v to see what each buildpack's detect printed"},
}

// hints returns the lines of advice for err.
func hints(err error) []string {
	var out []string
	for _, h := range errorHints {
		if errors.Is(err, h.err) {
			out = append(out, h.hint)
		}
	}
	var re *oci.RegistryError
	if !errors.As(err, &re) {
		return out
	}
	switch {
	case errors.Is(re.Err, oci.ErrAuthRequired), errors.Is(re.Err, oci.ErrAuthFailed):
		out = append(out, "kiln looked for credentials for "+re.Host+" in "+strings.Join(credentialPlaces(), ", ")+
			" (with their credHelpers and credsStore); log in with docker login "+re.Host+" or podman login "+re.Host+", or add an auths entry there")
	case errors.Is(re.Err, oci.ErrPlainHTTP):
		out = append(out, re.Host+" answers in plain HTTP: if that is intended, allow it with --insecure-registry "+re.Host+
			" (or KILN_INSECURE_REGISTRY, or kiln config add insecure-registries "+re.Host+")")
	case errors.Is(re.Err, oci.ErrTLSVerify):
		out = append(out, "trust the registry's certificate authority with --ca-cert FILE (or KILN_CA_CERT, kiln config add ca-certs FILE, "+
			"or a FILE.crt in /etc/containers/certs.d/"+re.Host+"/); for a test registry only, --tls-skip-verify "+re.Host)
	}
	return out
}

// credentialPlaces are the files registry credentials are read from, in
// the order go-containerregistry's default keychain tries them, each marked
// when it does not exist.
func credentialPlaces() []string {
	var places []string
	mark := func(p string) string {
		if _, err := os.Stat(p); err != nil {
			return p + " (absent)"
		}
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		places = append(places, mark(filepath.Join(home, ".docker", "config.json")))
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		places = append(places, mark(filepath.Join(d, "config.json"))+" ($DOCKER_CONFIG)")
	}
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		places = append(places, mark(f)+" ($REGISTRY_AUTH_FILE)")
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		places = append(places, mark(filepath.Join(d, "containers", "auth.json")))
	}
	if d, err := os.UserConfigDir(); err == nil {
		places = append(places, mark(filepath.Join(d, "containers", "auth.json")))
	}
	return places
}
