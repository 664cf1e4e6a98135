package lifecycle

import (
	"slices"
	"sort"
)

// The build plan resolution of the lifecycle (contract §1.4): each passing
// buildpack offers options (its top-level provides/requires, then each
// [[or]]); trials are the depth-first cartesian product of the options; a
// trial is pruned until stable and the first one left non-empty wins.

// detectOption is one alternative offered by a passing buildpack.
type detectOption struct {
	entry    GroupEntry
	sections PlanSections
}

// trial is one choice of option per buildpack, in group order.
type trial []detectOption

// remove returns t without the buildpack of entry.
func (t trial) remove(entry GroupEntry) trial {
	var out trial
	for _, o := range t {
		if o.entry.ID != entry.ID {
			out = append(out, o)
		}
	}
	return out
}

// options returns the alternatives of a passing buildpack. An optional
// buildpack is optional only in its last alternative.
func options(entry GroupEntry, plan BuildPlan) []detectOption {
	all := append([]PlanSections{plan.PlanSections}, plan.Or...)
	out := make([]detectOption, len(all))
	for i, s := range all {
		e := entry
		e.Optional = entry.Optional && i == len(all)-1
		out[i] = detectOption{entry: e, sections: s}
	}
	return out
}

// dependency is what a trial says about one dependency name.
type dependency struct {
	providers     []GroupEntry // provides that a later or same buildpack requires
	requires      []Require    // requires made once a provider existed
	extraProvides []GroupEntry // provides nobody required (yet)
	extraRequires []GroupEntry // requires without an earlier or same provide
}

// dependencies walks a trial in order, provides before requires within a
// buildpack.
func dependencies(t trial) map[string]*dependency {
	m := map[string]*dependency{}
	get := func(name string) *dependency {
		if m[name] == nil {
			m[name] = &dependency{}
		}
		return m[name]
	}
	for _, o := range t {
		for _, p := range o.sections.Provides {
			d := get(p.Name)
			d.extraProvides = append(d.extraProvides, o.entry)
		}
		for _, r := range o.sections.Requires {
			d := get(r.Name)
			d.providers = append(d.providers, d.extraProvides...)
			d.extraProvides = nil
			if len(d.providers) == 0 {
				d.extraRequires = append(d.extraRequires, o.entry)
			} else {
				d.requires = append(d.requires, r)
			}
		}
	}
	return m
}

// sortedNames returns the keys of deps in order, for determinism.
func sortedNames(deps map[string]*dependency) []string {
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// runTrial prunes t until it is stable: an unmet require or an unused
// provide drops an optional buildpack and fails the trial otherwise.
func runTrial(t trial) (map[string]*dependency, trial, bool) {
	for {
		deps := dependencies(t)
		changed := false
		for _, unmet := range [2]func(*dependency) []GroupEntry{
			func(d *dependency) []GroupEntry { return d.extraRequires },
			func(d *dependency) []GroupEntry { return d.extraProvides },
		} {
			for _, name := range sortedNames(deps) {
				for _, e := range unmet(deps[name]) {
					if !e.Optional {
						return nil, nil, false
					}
					t = t.remove(e)
					changed = true
				}
			}
		}
		if !changed {
			return deps, t, len(t) > 0
		}
	}
}

// runTrials tries the trials depth-first, from the prefix chosen so far.
func runTrials(rest [][]detectOption, prefix trial) (map[string]*dependency, trial, bool) {
	if len(rest) == 0 {
		return runTrial(slices.Clone(prefix))
	}
	for _, o := range rest[0] {
		if deps, t, ok := runTrials(rest[1:], append(slices.Clip(prefix), o)); ok {
			return deps, t, true
		}
	}
	return nil, nil, false
}

// resolvePlan resolves the plan of the passing buildpacks (in group order)
// and returns the group that participates and the plan entries, sorted by
// dependency name. ok is false when no trial survives.
func resolvePlan(passed []GroupEntry, plans []BuildPlan) (Group, Plan, bool) {
	var all [][]detectOption
	for i, e := range passed {
		all = append(all, options(e, plans[i]))
	}
	deps, t, ok := runTrials(all, nil)
	if !ok {
		return Group{}, Plan{}, false
	}
	var g Group
	for _, o := range t {
		e := o.entry
		e.Optional = false
		g.Group = append(g.Group, e)
	}
	var p Plan
	for _, name := range sortedNames(deps) {
		d := deps[name]
		entry := PlanEntry{Requires: d.requires}
		for _, prov := range d.providers {
			entry.Providers = append(entry.Providers, GroupEntry{ID: prov.ID, Version: prov.Version})
		}
		p.Entries = append(p.Entries, entry)
	}
	return g, p, true
}
