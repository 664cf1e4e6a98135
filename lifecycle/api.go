package lifecycle

import "github.com/kilnbuild/kiln/lifecycle/api"

// DefaultPlatformAPI is the Platform API version the phases implement when
// the caller leaves PlatformAPI empty. 0.13 is the newest version whose
// behaviour kiln fully covers (0.14 only changes the restorer; 0.15 adds
// execution environments and system buildpacks).
const DefaultPlatformAPI = "0.13"

// supportedBuildpackAPI reports whether kiln can run a buildpack of API v
// (api.Buildpack).
func supportedBuildpackAPI(v api.Version) bool { return api.Buildpack.Contains(v) }
