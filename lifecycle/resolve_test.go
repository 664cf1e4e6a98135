package lifecycle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestResolvePlan(t *testing.T) {
	prov := func(names ...string) []Provide {
		var out []Provide
		for _, n := range names {
			out = append(out, Provide{Name: n})
		}
		return out
	}
	req := func(names ...string) []Require {
		var out []Require
		for _, n := range names {
			out = append(out, Require{Name: n})
		}
		return out
	}
	a, b, c := ref("a"), ref("b"), ref("c")
	optB := b
	optB.Optional = true
	tests := []struct {
		name      string
		passed    []GroupEntry
		plans     []BuildPlan
		wantGroup []string // ids; nil: fails
		wantPlan  []PlanEntry
	}{
		{name: "no plan at all", passed: []GroupEntry{a, b}, plans: []BuildPlan{{}, {}}, wantGroup: []string{"a", "b"}},
		{name: "provide then require", passed: []GroupEntry{a, b},
			plans:     []BuildPlan{{PlanSections: PlanSections{Provides: prov("x")}}, {PlanSections: PlanSections{Requires: req("x")}}},
			wantGroup: []string{"a", "b"}, wantPlan: []PlanEntry{{Providers: []GroupEntry{a}, Requires: req("x")}}},
		{name: "require before provide fails", passed: []GroupEntry{a, b},
			plans: []BuildPlan{{PlanSections: PlanSections{Requires: req("x")}}, {PlanSections: PlanSections{Provides: prov("x")}}}},
		{name: "unused provide fails", passed: []GroupEntry{a}, plans: []BuildPlan{{PlanSections: PlanSections{Provides: prov("x")}}}},
		{name: "optional with unused provide is dropped", passed: []GroupEntry{a, optB},
			plans: []BuildPlan{{}, {PlanSections: PlanSections{Provides: prov("x")}}}, wantGroup: []string{"a"}},
		{name: "or alternative", passed: []GroupEntry{a, b},
			plans: []BuildPlan{
				{PlanSections: PlanSections{Provides: prov("x")}},
				{PlanSections: PlanSections{Requires: req("y")}, Or: []PlanSections{{Requires: req("x")}}},
			},
			wantGroup: []string{"a", "b"}, wantPlan: []PlanEntry{{Providers: []GroupEntry{a}, Requires: req("x")}}},
		// An optional buildpack is optional only in its last option: its first
		// option (unmet require) fails the trial, the second keeps it.
		{name: "optional only in the last option", passed: []GroupEntry{a, optB},
			plans: []BuildPlan{
				{PlanSections: PlanSections{Provides: prov("x")}, Or: []PlanSections{{}}},
				{PlanSections: PlanSections{Requires: req("x", "missing")}, Or: []PlanSections{{Requires: req("x")}}},
			},
			wantGroup: []string{"a", "b"}, wantPlan: []PlanEntry{{Providers: []GroupEntry{a}, Requires: req("x")}}},
		{name: "optional is kept by a later option", passed: []GroupEntry{a, optB},
			plans:     []BuildPlan{{}, {PlanSections: PlanSections{Requires: req("missing")}, Or: []PlanSections{{}}}},
			wantGroup: []string{"a", "b"}},
		{name: "dropping cascades until stable", passed: []GroupEntry{a, optB, c},
			plans: []BuildPlan{
				{PlanSections: PlanSections{Provides: prov("x")}, Or: []PlanSections{{}}},
				{PlanSections: PlanSections{Requires: req("x", "missing")}},
				{},
			},
			wantGroup: []string{"a", "c"}},
		{name: "two providers of one name", passed: []GroupEntry{a, b},
			plans: []BuildPlan{
				{PlanSections: PlanSections{Provides: prov("x")}},
				{PlanSections: PlanSections{Provides: prov("x"), Requires: req("x")}},
			},
			wantGroup: []string{"a", "b"}, wantPlan: []PlanEntry{{Providers: []GroupEntry{a, b}, Requires: req("x")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, p, ok := resolvePlan(tt.passed, tt.plans)
			if ok != (tt.wantGroup != nil) {
				t.Fatalf("ok = %v, group %v", ok, g)
			}
			var ids []string
			for _, e := range g.Group {
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff(tt.wantGroup, ids); diff != "" {
				t.Errorf("group (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPlan, p.Entries, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
