// Package launch is the runtime of the CNB launcher placed in built images:
// process selection, environment assembly, exec.d and profile.d, exec. It
// uses the standard library only.
package launch
