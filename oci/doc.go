// Package oci moves images in and out without a daemon, on
// go-containerregistry: references of three kinds (oci:DIR[:TAG],
// docker-archive:FILE[:NAME:TAG] and registry names), a content-addressed
// local store, safe unpacking of layers into directories, and deterministic,
// streamed layer writing.
//
// Images and layers travel as go-containerregistry's v1.Image and v1.Layer;
// this package adds no image interface of its own.
package oci
