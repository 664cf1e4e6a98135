package lifecycle

// TargetData describes the image a build targets (the run image): its
// platform and distribution. The caller fills Distro from the run image's
// io.buildpacks.base.distro.* labels or, failing those, from the build
// image's /etc/os-release, as the lifecycle does.
type TargetData struct {
	ID          string // io.buildpacks.base.id
	OS          string
	Arch        string
	ArchVariant string
	Distro      *Distro
}

// matches reports whether the buildpack target t accepts the image target d.
// An empty field on either side is a wildcard; when both name distros the
// image's must be one of the buildpack's.
func (t Target) matches(d TargetData) bool {
	if !wildEqual(t.OS, d.OS) || !wildEqual(t.Arch, d.Arch) || !wildEqual(t.Variant, d.ArchVariant) {
		return false
	}
	if d.Distro == nil || len(t.Distros) == 0 {
		return true
	}
	for _, dist := range t.Distros {
		if wildEqual(dist.Name, d.Distro.Name) && wildEqual(dist.Version, d.Distro.Version) {
			return true
		}
	}
	return false
}

func wildEqual(a, b string) bool { return a == "" || b == "" || a == b }

// targetMatch reports whether any of the buildpack's effective targets
// accepts d; a buildpack with no targets at all matches.
func targetMatch(bp *Buildpack, d TargetData) bool {
	targets := bp.EffectiveTargets()
	if len(targets) == 0 {
		return true
	}
	for _, t := range targets {
		if t.matches(d) {
			return true
		}
	}
	return false
}

// env returns the CNB_TARGET_* variables for d; the optional ones only when
// known.
func (d TargetData) env() []string {
	out := []string{"CNB_TARGET_OS=" + d.OS, "CNB_TARGET_ARCH=" + d.Arch}
	if d.ArchVariant != "" {
		out = append(out, "CNB_TARGET_ARCH_VARIANT="+d.ArchVariant)
	}
	if d.Distro != nil {
		out = append(out, "CNB_TARGET_DISTRO_NAME="+d.Distro.Name, "CNB_TARGET_DISTRO_VERSION="+d.Distro.Version)
	}
	if d.ID != "" {
		out = append(out, "CNB_TARGET_ID="+d.ID)
	}
	return out
}
