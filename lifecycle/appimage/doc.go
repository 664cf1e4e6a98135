// Package appimage works on finished app images through the labels the
// export wrote: Inspect reports what an image says about itself (stack, run
// image, buildpacks, processes, layers), and Rebaser puts it on a new run
// image by rewriting its manifest and config only (CNB contract §6), no
// layer read, hashed or transferred.
package appimage
