// Package launch is the runtime of the CNB launcher placed in built images:
// process selection, environment assembly, exec.d and profile.d, exec. It
// uses the standard library only.
//
// The launcher of an image is /cnb/lifecycle/launcher; /cnb/process/<type>
// are symlinks to it. At start it needs CNB_PLATFORM_API (exit code 11
// without it) and reads ${CNB_LAYERS_DIR:-/layers}/config/metadata.toml
// (see Metadata). Then, as the reference lifecycle does:
//
//   - the base name of argv[0] selects a process type; otherwise
//     `launcher -- CMD ARGS…` runs CMD directly and `launcher CMD ARGS…`
//     runs it through /bin/bash; with neither the launch fails (exit 82);
//   - the environment is the container's without the launcher's own CNB_*
//     variables and /cnb/{process,lifecycle} on PATH, plus, per buildpack in
//     group order, every layer's bin and lib, then its env, env.launch and
//     env.launch/<type> files (suffix rules per Buildpack API), then what
//     the exec.d executables print on fd 3;
//   - a direct process is looked up on the new PATH and exec'd in place of
//     the launcher, which needs no shell (distroless run images work); a
//     shell process goes through /bin/bash, sourcing profile.d scripts and
//     the app's .profile first.
//
// Main is the whole program; cmd/launcher calls it. The launcher reads
// metadata.toml with a small TOML reader of its own (toml.go) so that it
// stays free of dependencies and small.
package launch
