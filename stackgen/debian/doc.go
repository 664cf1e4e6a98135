// Package debian reads Debian package repositories and packages without dpkg
// or apt: apt source lists (deb822 and one-line), signed InRelease files and
// their Packages indexes, dependency resolution over those indexes (Depends,
// Pre-Depends, alternatives, versioned relations, Provides), a download pool
// of .deb files addressed by their SHA256, the ar and tar formats inside a
// .deb, and a lock file that pins a resolution.
//
// It never runs maintainer scripts and never reads the machine's apt
// configuration by itself: callers parse the source lists they want with
// ParseSources and pass the result in.
package debian
