package stackgen

import (
	"archive/tar"
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
	"github.com/kilnbuild/kiln/stackgen/debian"
)

// Labels and environment variables of stack images (CNB platform spec).
const (
	LabelStackID       = "io.buildpacks.stack.id"
	LabelDistroName    = "io.buildpacks.base.distro.name"
	LabelDistroVersion = "io.buildpacks.base.distro.version"
	LabelRebasable     = "io.buildpacks.rebasable"

	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// Generate makes the stack's build and run images. Each starts from its base
// (left untouched), gets one layer with its Debian packages when it lists
// any, and one small layer with the CNB user added to /etc/passwd and
// /etc/group and its home directory (always for the build image, when asked
// for the run image). The build image runs as UID:GID and carries
// CNB_USER_ID, CNB_GROUP_ID and CNB_STACK_ID; both carry the stack ID and
// the distro labels from the image's os-release, and the run image
// io.buildpacks.rebasable. Config and history times are the creation time
// (WithCreated), so the same inputs give the same digests.
//
// Packages come from spec.Lock when it answers the requests; otherwise they
// are resolved first (see Resolve). Generate needs WithStore.
func Generate(ctx context.Context, spec Spec, opts ...Option) (build, run v1.Image, err error) {
	o, err := makeOptions(opts)
	if err == nil {
		err = o.forSpec(spec)
	}
	if err != nil {
		return nil, nil, err
	}
	if o.store == nil {
		return nil, nil, fmt.Errorf("generating stack %s: %w", spec.ID, ErrNoStore)
	}
	if spec.ID == "" {
		return nil, nil, fmt.Errorf("generating stack: no stack ID: %w", ErrConfig)
	}
	if len(spec.Build.Packages)+len(spec.Run.Packages) > 0 {
		lock, err := Resolve(ctx, spec, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("generating stack %s: %w", spec.ID, err)
		}
		spec.Lock = lock
	}
	build, err = o.image(ctx, spec, "build")
	if err != nil {
		return nil, nil, fmt.Errorf("generating build image of stack %s: %w", spec.ID, err)
	}
	run, err = o.image(ctx, spec, "run")
	if err != nil {
		return nil, nil, fmt.Errorf("generating run image of stack %s: %w", spec.ID, err)
	}
	return build, run, nil
}

func (o *options) image(ctx context.Context, spec Spec, kind string) (v1.Image, error) {
	is, locked := spec.Build, lockOf(spec.Lock, true)
	if kind == "run" {
		is, locked = spec.Run, lockOf(spec.Lock, false)
	}
	arch, err := o.debianArch(ctx, spec, is)
	if err != nil {
		return nil, err
	}
	platform, err := ociPlatform(arch)
	if err != nil {
		return nil, err
	}
	o.report(kind, "reading base", is.Base)
	img, err := o.loadBase(ctx, is.Base, platform)
	if err != nil {
		return nil, err
	}
	view, err := scanImage(ctx, img)
	if err != nil {
		return nil, err
	}
	if locked != nil && len(locked.Packages) > 0 {
		if img, err = o.addPackages(ctx, img, view, kind, is, locked.Packages, spec.Debian.MergedUsr); err != nil {
			return nil, err
		}
	}
	m := oci.Mutation{Labels: o.labels(view, spec, is, kind), Env: append([]string{}, is.Env...), Created: &o.created}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if !hasEnv(cf.Config.Env, "PATH") && !hasEnv(is.Env, "PATH") {
		m.Env = append(m.Env, "PATH="+defaultPath)
	}
	withUser := kind == "build" || is.User || !is.AsRoot
	_, _, hasPasswd := view.readFile("etc/passwd")
	switch {
	case kind == "run" && !is.User && !is.AsRoot && is.Base != "" && !hasPasswd:
		// A base without accounts (distroless-like) still runs as the CNB
		// user, by number.
		user := fmt.Sprintf("%d:%d", spec.uid(), spec.gid())
		m.User = &user
	case withUser || is.Base == "":
		if err := o.addUser(ctx, &m, view, spec, is, withUser); err != nil {
			return nil, err
		}
	}
	if kind == "build" {
		m.Env = append(m.Env, "CNB_USER_ID="+strconv.Itoa(spec.uid()), "CNB_GROUP_ID="+strconv.Itoa(spec.gid()), "CNB_STACK_ID="+spec.ID)
	}
	m.History = append(m.History, v1.History{CreatedBy: "kiln stack create: " + kind + " image of " + spec.ID})
	return oci.Mutate(img, m)
}

// labels are the stack's labels for an image whose files view shows.
func (o *options) labels(view *fsView, spec Spec, is ImageSpec, kind string) map[string]string {
	l := map[string]string{LabelStackID: spec.ID}
	if osr, _, ok := view.readFile("etc/os-release"); ok {
		rel := parseOSRelease(osr)
		if rel["ID"] != "" {
			l[LabelDistroName] = rel["ID"]
		}
		if rel["VERSION_ID"] != "" {
			l[LabelDistroVersion] = rel["VERSION_ID"]
		}
	} else {
		o.logger.Warn("no /etc/os-release: the distro labels are left out", "image", kind)
	}
	if kind == "run" && !is.NotRebasable {
		l[LabelRebasable] = "true"
	}
	for k, v := range is.Labels {
		l[k] = v
	}
	return l
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// addPackages appends the layer of the locked packages to img, whose files
// view shows; the view is updated with the layer.
func (o *options) addPackages(ctx context.Context, img v1.Image, view *fsView, kind string, is ImageSpec, pkgs []debian.Locked, merged *bool) (v1.Image, error) {
	mergedUsr := merged == nil || *merged
	if is.Base != "" {
		// The base decides: packages for a merged /usr would replace an
		// unmerged base's /bin directory with a symlink, and the other way
		// round a merged base's /bin symlink with a directory.
		mergedUsr = view.isSymlink("bin")
	}
	layer, err := o.packageLayer(ctx, kind, pkgs, mergedUsr)
	if err != nil {
		return nil, err
	}
	if err := view.addLayer(view.layers, layer); err != nil {
		return nil, fmt.Errorf("reading the package layer: %w", err)
	}
	view.layers++
	what := fmt.Sprintf("kiln stack: %d Debian packages (listed in /var/lib/dpkg/status.d)", len(pkgs))
	return oci.Mutate(img, oci.Mutation{
		Layers:  []oci.Append{{Layer: layer, History: v1.History{CreatedBy: what}}},
		Created: &o.created,
	})
}

// addUser appends the layer with the edited /etc/passwd and /etc/group and
// the home directory, and sets the user. Without a base, the files are made
// from a skeleton with root and nobody, and /tmp is added; withUser false
// then writes the skeleton only.
func (o *options) addUser(ctx context.Context, m *oci.Mutation, view *fsView, spec Spec, is ImageSpec, withUser bool) error {
	passwd, phdr, okP := view.readFile("etc/passwd")
	group, ghdr, okG := view.readFile("etc/group")
	scratchBase := is.Base == ""
	if !scratchBase && (!okP || !okG) {
		which := "/etc/passwd"
		if okP {
			which = "/etc/group"
		}
		return fmt.Errorf("adding user to base %s: no %s: %w", is.Base, which, ErrNoPasswd)
	}
	if !okP {
		passwd = []byte(skeletonPasswd)
	}
	if !okG {
		group = []byte(skeletonGroup)
	}
	var acct account
	if withUser {
		var err error
		passwd, group, acct, err = addAccount(passwd, group, spec.UserName, spec.GroupName, spec.uid(), spec.gid())
		if err != nil {
			return fmt.Errorf("adding user to base %s: %w", is.Base, err)
		}
	}
	w, err := oci.NewLayerWriter(oci.LayerOptions{Store: o.store, ModTime: o.created})
	if err != nil {
		return err
	}
	lw := &entryWriter{w: w, view: view, done: map[string]bool{}}
	if scratchBase {
		lw.dir("tmp", fs.ModeDir|fs.ModeSticky|0o777, 0, 0)
		lw.dir("root", fs.ModeDir|0o700, 0, 0)
	}
	lw.file("etc/group", ghdr, group)
	lw.file("etc/passwd", phdr, passwd)
	if withUser && acct.home != "" && acct.home != "/" {
		home := cleanName(acct.home)
		mode := fs.FileMode(fs.ModeDir | 0o755)
		if _, e := view.lookup(home); e != nil && e.hdr.Typeflag == tar.TypeDir {
			mode = e.hdr.FileInfo().Mode()
		}
		lw.dir(home, mode, acct.uid, acct.gid)
	}
	if lw.err != nil {
		w.Abort()
		return fmt.Errorf("writing user layer: %w", lw.err)
	}
	layer, err := w.Layer()
	if err != nil {
		return fmt.Errorf("writing user layer: %w", err)
	}
	what := "accounts"
	if withUser {
		what = fmt.Sprintf("user %s (%d) and group %s (%d)", acct.user, acct.uid, acct.group, acct.gid)
		user := fmt.Sprintf("%d:%d", acct.uid, acct.gid)
		m.User = &user
	}
	m.Layers = append(m.Layers, oci.Append{Layer: layer, History: v1.History{CreatedBy: "kiln stack: " + what}})
	return nil
}

// entryWriter adds entries with their parent directories, which take the
// mode and owner the image already gives them.
type entryWriter struct {
	w    *oci.LayerWriter
	view *fsView
	done map[string]bool
	err  error
}

func (e *entryWriter) parents(name string) {
	dir := path.Dir(name)
	if dir == "." || e.done[dir] {
		return
	}
	e.parents(dir)
	mode, uid, gid := fs.ModeDir|0o755, 0, 0
	if ve := e.view.entries[dir]; ve != nil && ve.hdr.Typeflag == tar.TypeDir {
		mode, uid, gid = ve.hdr.FileInfo().Mode(), ve.hdr.Uid, ve.hdr.Gid
	}
	e.dir(dir, mode, uid, gid)
}

func (e *entryWriter) dir(name string, mode fs.FileMode, uid, gid int) {
	if e.err != nil || e.done[name] {
		return
	}
	e.parents(name)
	e.done[name] = true
	e.err = e.w.Dir(name, mode, uid, gid)
}

// file writes name with the mode and owner of hdr (the file it replaces), or
// 0644 root.
func (e *entryWriter) file(name string, hdr *tar.Header, data []byte) {
	if e.err != nil {
		return
	}
	e.parents(name)
	mode, uid, gid := fs.FileMode(0o644), 0, 0
	if hdr != nil {
		mode, uid, gid = hdr.FileInfo().Mode(), hdr.Uid, hdr.Gid
	}
	e.err = e.w.File(name, mode, uid, gid, int64(len(data)), strings.NewReader(string(data)))
}
