package lifecycle

import (
	"fmt"
	"sort"

	"github.com/BurntSushi/toml"

	"github.com/kilnbuild/kiln/lifecycle/api"
)

// BuildPlan is what bin/detect writes to its plan file: provides and
// requires, plus [[or]] alternatives tried in order.
type BuildPlan struct {
	PlanSections
	Or []PlanSections `toml:"or"`
}

// PlanSections is one alternative of a build plan.
type PlanSections struct {
	Provides []Provide `toml:"provides"`
	Requires []Require `toml:"requires"`
}

// Provide names a dependency a buildpack can provide.
type Provide struct {
	Name string `toml:"name"`
}

// Require is a dependency a buildpack requires, with free-form metadata.
// Version is the deprecated top-level version (see §1.4 of the contract).
type Require struct {
	Name     string         `toml:"name"`
	Version  string         `toml:"version,omitempty"`
	Metadata map[string]any `toml:"metadata,omitempty"`
}

// Plan is plan.toml: one entry per dependency, with the buildpacks that
// provide it and the requirements made of it.
type Plan struct {
	Entries []PlanEntry `toml:"entries"`
}

// PlanEntry is one [[entries]] of plan.toml.
type PlanEntry struct {
	Providers []GroupEntry `toml:"providers"`
	Requires  []Require    `toml:"requires"`
}

// BuildpackPlan is the plan file given to one buildpack's bin/build: every
// requirement of the plan entries it provides.
type BuildpackPlan struct {
	Entries []Require `toml:"entries"`
}

// ReadPlan reads a plan.toml file.
func ReadPlan(path string) (Plan, error) {
	var p Plan
	if _, err := toml.DecodeFile(path, &p); err != nil {
		return Plan{}, fmt.Errorf("reading plan %s: %w", path, err)
	}
	return p, nil
}

// WritePlan writes p to path atomically.
func WritePlan(path string, p Plan) error {
	if err := writeTOML(path, p); err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	return nil
}

// find returns the buildpack plan for the buildpack id: the requirements of
// every entry it is a provider of.
func (p Plan) find(id string) BuildpackPlan {
	var out BuildpackPlan
	for _, e := range p.Entries {
		for _, prov := range e.Providers {
			if prov.ID == id {
				out.Entries = append(out.Entries, e.Requires...)
				break
			}
		}
	}
	return out
}

// withoutMet drops the entries with a requirement named in met: a met
// dependency no longer goes to later providers.
func (p Plan) withoutMet(met []string) Plan {
	isMet := map[string]bool{}
	for _, m := range met {
		isMet[m] = true
	}
	var out Plan
	for _, e := range p.Entries {
		keep := true
		for _, r := range e.Requires {
			if isMet[r.Name] {
				keep = false
				break
			}
		}
		if keep {
			out.Entries = append(out.Entries, e)
		}
	}
	return out
}

// names returns the distinct requirement names of a buildpack plan, sorted.
func (bp BuildpackPlan) names() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range bp.Entries {
		if !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r.Name)
		}
	}
	sort.Strings(out)
	return out
}

// normalizeVersions applies the rules for the deprecated top-level
// requires.version of a buildpack with API v: from 0.11 it is an error; from
// 0.3 it may not be combined with metadata.version and is moved there; for
// 0.2 it must agree with metadata.version and is moved there too (build
// copies it back for 0.2 buildpacks).
func (p *BuildPlan) normalizeVersions(v api.Version) error {
	sections := []*PlanSections{&p.PlanSections}
	for i := range p.Or {
		sections = append(sections, &p.Or[i])
	}
	for _, s := range sections {
		for i := range s.Requires {
			if err := normalizeRequire(&s.Requires[i], v); err != nil {
				return err
			}
		}
	}
	return nil
}

func normalizeRequire(r *Require, v api.Version) error {
	if r.Version == "" {
		return nil
	}
	mv, hasMeta := r.Metadata["version"]
	switch {
	case v.AtLeast("0.11"):
		return fmt.Errorf("requirement %q has a top-level version, which Buildpack API %s forbids; use metadata.version", r.Name, v)
	case v.AtLeast("0.3") && hasMeta:
		return fmt.Errorf("requirement %q has both version and metadata.version", r.Name)
	case hasMeta && fmt.Sprint(mv) != r.Version:
		return fmt.Errorf("requirement %q has a version that does not match metadata.version", r.Name)
	}
	if r.Metadata == nil {
		r.Metadata = map[string]any{}
	}
	r.Metadata["version"] = r.Version
	r.Version = ""
	return nil
}
