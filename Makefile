# kiln's build, test, benchmark and demo entry points. See README.md.

GO       ?= go
BIN      := bin
# kiln is a static cgo binary: the seccomp tag links libseccomp statically
# (Debian's libseccomp-dev), and the sandbox re-executes kiln as the init of
# containers whose root filesystem has no libc of ours.
TAGS     ?= netgo osusergo seccomp
LDFLAGS  := -s -w -extldflags=-static
export CGO_ENABLED := 1

.PHONY: all build install deps test test-root test-rootless bench fuzz demo image clean

all: build

build:
	@./hack/build.sh

# Copies bin/kiln to $(PREFIX)/bin (default /usr/local): make install PREFIX=$HOME/.local
PREFIX   ?= /usr/local
install: build
	install -D -m 0755 $(BIN)/kiln $(DESTDIR)$(PREFIX)/bin/kiln

# Installs the Debian packages the tests need when missing (quick when present).
deps:
	@./hack/deps.sh

# The whole suite: as root, then the privilege-dependent parts as an
# unprivileged user that the script creates.
test: deps
	@./hack/test.sh

bench: deps
	@./hack/bench.sh

# Every go test -fuzz target for FUZZTIME each (default 60s); see hack/fuzz.sh.
# make test runs their seed corpora only.
fuzz:
	@./hack/fuzz.sh

demo:
	@./hack/demo.sh

# kiln's own image (no Dockerfile, no daemon): the static binary at
# /usr/local/bin/kiln, written by kiln's oci package, deterministic. IMAGE is
# any kiln reference: oci:DIR[:TAG], docker-archive:FILE[:NAME:TAG] or a
# registry. For an init container or CI step: kiln install /shared/kiln.
IMAGE   ?= oci:$(BIN)/image:kiln
VERSION ?= dev
image: build
	@$(GO) run ./hack/kilnimage -binary $(BIN)/kiln -version $(VERSION) $(IMAGE)

clean:
	rm -rf $(BIN)
