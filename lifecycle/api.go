package lifecycle

import "github.com/kilnbuild/kiln/lifecycle/api"

// DefaultPlatformAPI is the Platform API version the phases implement when
// the caller leaves PlatformAPI empty. 0.13 is the newest version whose
// behaviour kiln fully covers (0.14 only changes the restorer; 0.15 adds
// execution environments and system buildpacks).
const DefaultPlatformAPI = "0.13"

// The Buildpack API versions kiln runs. The reference lifecycle dropped 0.2–0.6
// in v0.18; kiln keeps them so that old buildpacks still build.
var (
	minBuildpackAPI = api.Version{Major: 0, Minor: 2}
	maxBuildpackAPI = api.Version{Major: 0, Minor: 12}
)

// supportedBuildpackAPI reports whether kiln can run a buildpack of API v.
func supportedBuildpackAPI(v api.Version) bool {
	return v.Compare(minBuildpackAPI) >= 0 && v.Compare(maxBuildpackAPI) <= 0
}
