package api

import "fmt"

// Range is a contiguous run of API versions of one major version, both
// ends included.
type Range struct{ Min, Max Version }

// The API versions kiln implements and tests, the one place they are
// written: builders declare them (io.buildpacks.builder.metadata), the
// Platform API command line accepts them (CNB_PLATFORM_API), the phases run
// buildpacks of them, and `kiln version` prints them.
//
// Platform API 0.15 is not declared: kiln's phases do not run the
// /cnb/system.toml buildpacks nor write the io.buildpacks.exec-env label it
// adds (the launcher implements its execution environments). Buildpack API
// 0.2–0.6 are kept although the reference lifecycle dropped them in 0.18, so
// that old buildpacks still build.
var (
	Platform  = Range{Min: Version{0, 7}, Max: Version{0, 14}}
	Buildpack = Range{Min: Version{0, 2}, Max: Version{0, 12}}
)

// Contains reports whether v is in the range.
func (r Range) Contains(v Version) bool { return v.Compare(r.Min) >= 0 && v.Compare(r.Max) <= 0 }

// Versions lists every version of the range, lowest first.
func (r Range) Versions() []string {
	var out []string
	for m := r.Min.Minor; m <= r.Max.Minor; m++ {
		out = append(out, Version{r.Min.Major, m}.String())
	}
	return out
}

func (r Range) String() string { return fmt.Sprintf("%s–%s", r.Min, r.Max) }
