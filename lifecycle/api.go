package lifecycle

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultPlatformAPI is the Platform API version the phases implement when
// the caller leaves PlatformAPI empty. 0.13 is the newest version whose
// behaviour kiln fully covers (0.14 only changes the restorer; 0.15 adds
// execution environments and system buildpacks).
const DefaultPlatformAPI = "0.13"

// The Buildpack API versions kiln runs. The reference lifecycle dropped 0.2–0.6
// in v0.18; kiln keeps them so that old buildpacks still build.
var (
	minBuildpackAPI = apiVersion{0, 2}
	maxBuildpackAPI = apiVersion{0, 12}
)

// apiVersion is a "<major>.<minor>" API version; "<major>" means "<major>.0".
type apiVersion struct{ major, minor int }

// parseAPI parses an API version string.
func parseAPI(s string) (apiVersion, error) {
	majorStr, minorStr, found := strings.Cut(s, ".")
	if !found {
		minorStr = "0"
	}
	major, err1 := strconv.Atoi(majorStr)
	minor, err2 := strconv.Atoi(minorStr)
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return apiVersion{}, fmt.Errorf("parsing API version %q: not <major>.<minor>", s)
	}
	return apiVersion{major, minor}, nil
}

// mustAPI parses a version literal written in this package.
func mustAPI(s string) apiVersion {
	v, err := parseAPI(s)
	if err != nil {
		panic(err)
	}
	return v
}

// compare returns -1, 0 or 1 as v is lower than, equal to or higher than o.
func (v apiVersion) compare(o apiVersion) int {
	switch {
	case v.major != o.major:
		return cmpInt(v.major, o.major)
	default:
		return cmpInt(v.minor, o.minor)
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// atLeast reports whether v is the version s or a later one.
func (v apiVersion) atLeast(s string) bool { return v.compare(mustAPI(s)) >= 0 }

// lessThan reports whether v is earlier than the version s.
func (v apiVersion) lessThan(s string) bool { return !v.atLeast(s) }

func (v apiVersion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// supportedBuildpackAPI reports whether kiln can run a buildpack of API v.
func supportedBuildpackAPI(v apiVersion) bool {
	return v.compare(minBuildpackAPI) >= 0 && v.compare(maxBuildpackAPI) <= 0
}
