package launch

import (
	"fmt"
	"strconv"
	"strings"
)

// apiVersion is a CNB API version, "<major>.<minor>"; "<major>" means
// "<major>.0".
type apiVersion struct{ major, minor int }

// Supported ranges: Platform API as the current reference lifecycle, Buildpack
// API from 0.2 as kiln's builder (lifecycles up to 0.17 accepted them too).
var (
	minPlatformAPI  = apiVersion{0, 7}
	maxPlatformAPI  = apiVersion{0, 15}
	minBuildpackAPI = apiVersion{0, 2}
	maxBuildpackAPI = apiVersion{0, 12}
)

func parseAPI(s string) (apiVersion, error) {
	majorText, minorText, hasMinor := strings.Cut(s, ".")
	major, err := strconv.Atoi(majorText)
	minor := 0
	if err == nil && hasMinor {
		minor, err = strconv.Atoi(minorText)
	}
	if err != nil || major < 0 || minor < 0 {
		return apiVersion{}, fmt.Errorf("parsing API version %q: %w", s, ErrUnsupportedAPI)
	}
	return apiVersion{major, minor}, nil
}

// less reports whether v is older than o.
func (v apiVersion) less(o apiVersion) bool {
	return v.major < o.major || v.major == o.major && v.minor < o.minor
}

func (v apiVersion) within(lo, hi apiVersion) bool { return !v.less(lo) && !hi.less(v) }

func (v apiVersion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// parsePlatformAPI checks CNB_PLATFORM_API's value.
func parsePlatformAPI(s string) (apiVersion, error) {
	if s == "" {
		return apiVersion{}, ErrNoPlatformAPI
	}
	v, err := parseAPI(s)
	if err != nil {
		return apiVersion{}, err
	}
	if !v.within(minPlatformAPI, maxPlatformAPI) {
		return apiVersion{}, fmt.Errorf("platform API %s (supported: %s to %s): %w",
			s, minPlatformAPI, maxPlatformAPI, ErrUnsupportedAPI)
	}
	return v, nil
}

// buildpackAPI returns a buildpack's API; an empty one means 0.2, as in the
// reference lifecycle.
func buildpackAPI(bp Buildpack) (apiVersion, error) {
	if bp.API == "" {
		return apiVersion{0, 2}, nil
	}
	v, err := parseAPI(bp.API)
	if err != nil {
		return apiVersion{}, fmt.Errorf("buildpack %s: %w", bp.ID, err)
	}
	if !v.within(minBuildpackAPI, maxBuildpackAPI) {
		return apiVersion{}, fmt.Errorf("buildpack %s has API %s (supported: %s to %s): %w",
			bp.ID, bp.API, minBuildpackAPI, maxBuildpackAPI, ErrUnsupportedAPI)
	}
	return v, nil
}
