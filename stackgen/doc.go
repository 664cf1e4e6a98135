// Package stackgen makes CNB stack images (a build image and a run image) from
// a base image, a root filesystem or Debian packages, without a daemon.
package stackgen
