// Package project is the application side of a build: the project
// descriptor (project.toml, schemas 0.1 to 0.3, read as pack reads it), its
// gitignore-style include/exclude patterns, its inline buildpacks, and the
// copy of the app into the workspace those patterns shape.
//
// Load finds and reads an app's project.toml, Read reads one file; CopyApp
// copies an app applying the patterns; Locators turns the descriptor's
// group entries into buildpack locators for package distribution, writing inline
// buildpacks out as buildpack directories (WriteInlineBuildpack).
package project
