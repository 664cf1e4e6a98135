package distribution

// Order is a list of groups tried in turn by detection: builder.toml's
// [[order]], a composite buildpack's [[order]], a buildpackage label's
// "order".
type Order []OrderEntry

// OrderEntry is one group of an Order.
type OrderEntry struct {
	Group []ModuleRef `toml:"group" json:"group"`
}

// ModuleRef names a buildpack (or extension) in a group. Version may be
// empty in builder.toml when only one version is available.
type ModuleRef struct {
	ID       string `toml:"id" json:"id"`
	Version  string `toml:"version,omitempty" json:"version,omitempty"`
	Optional bool   `toml:"optional,omitempty" json:"optional,omitempty"`
	// ExecEnv limits the entry to execution environments (Buildpack API
	// 0.12).
	ExecEnv []string `toml:"exec-env,omitempty" json:"exec-env,omitempty"`
	// The informational keys pack accepts on group entries.
	Name        string    `toml:"name,omitempty" json:"name,omitempty"`
	Description string    `toml:"description,omitempty" json:"description,omitempty"`
	Homepage    string    `toml:"homepage,omitempty" json:"homepage,omitempty"`
	Keywords    []string  `toml:"keywords,omitempty" json:"keywords,omitempty"`
	Licenses    []License `toml:"licenses,omitempty" json:"licenses,omitempty"`
}

// License is a buildpack's or project's license: a type, a URI or both.
type License struct {
	Type string `toml:"type" json:"type,omitempty"`
	URI  string `toml:"uri" json:"uri,omitempty"`
}

// Stack is a deprecated stack a buildpack supports ("*" for any).
type Stack struct {
	ID     string   `toml:"id" json:"id"`
	Mixins []string `toml:"mixins,omitempty" json:"mixins,omitempty"`
}

// Target is an os/arch/variant with optional distributions, as in
// buildpack.toml and builder.toml [[targets]].
type Target struct {
	OS      string   `toml:"os" json:"os"`
	Arch    string   `toml:"arch" json:"arch"`
	Variant string   `toml:"variant,omitempty" json:"variant,omitempty"`
	Distros []Distro `toml:"distros,omitempty" json:"distros,omitempty"`
}

// Distro is an /etc/os-release ID and VERSION_ID.
type Distro struct {
	Name    string `toml:"name" json:"name"`
	Version string `toml:"version" json:"version"`
}
