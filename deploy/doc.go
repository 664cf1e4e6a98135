// Package deploy holds no code: its test decodes the integration files
// next to it strictly, against the Kubernetes API types (and Pod Security
// Admission's own checks) or schemas as strict for Tekton, GitLab CI and
// GitHub Actions, so that a typo cannot ship. It is a module of its own so
// that kiln does not depend on the Kubernetes libraries.
package deploy
