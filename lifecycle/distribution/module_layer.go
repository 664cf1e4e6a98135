package distribution

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kilnbuild/kiln/oci"
)

// moduleLayers writes one layer per buildpack (or extension), sorted by
// id@version as pack sorts them, and returns them with the layers label
// that maps each to its layer's diffID.
func moduleLayers(ctx context.Context, ds []Descriptor, kind moduleKind, lo oci.LayerOptions) ([]oci.Append, LayersMetadata, error) {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b Descriptor) int { return cmp.Compare(a.FullName(), b.FullName()) })
	label := LayersMetadata{}
	adds := make([]oci.Append, 0, len(ds))
	for _, d := range ds {
		l, err := moduleLayer(ctx, d, kind, lo)
		if err != nil {
			return nil, nil, err
		}
		diffID, err := l.DiffID()
		if err != nil {
			return nil, nil, fmt.Errorf("writing layer of %s: %w", d.FullName(), err)
		}
		if label[d.ID] == nil {
			label[d.ID] = map[string]LayerInfo{}
		}
		label[d.ID][d.Version] = d.LayerInfo(diffID.String())
		adds = append(adds, oci.Append{Layer: l, History: v1.History{
			CreatedBy: fmt.Sprintf("kiln: %s %s", kind.table, d.FullName()),
		}})
	}
	return adds, label, nil
}

// moduleLayer writes the layer of the buildpack laid out at d.Dir as pack
// writes buildpack layers (CNB contract §5.1, §9 item 12): the
// /cnb/buildpacks/<escaped-id> and /cnb/buildpacks/<escaped-id>/<version>
// directories first, then the tree in sorted order, everything root-owned
// with normalised modes and Epoch mtimes.
func moduleLayer(ctx context.Context, d Descriptor, kind moduleKind, lo oci.LayerOptions) (v1.Layer, error) {
	idDir := "/" + kind.dir + "/" + EscapeID(d.ID)
	versionDir := idDir + "/" + d.Version
	lo.UID, lo.GID, lo.Prefix, lo.Parents = 0, 0, "", false
	lo.Mode = func(name string, m fs.FileMode) fs.FileMode {
		rel := strings.TrimPrefix(name, versionDir+"/")
		if m.IsRegular() && isExecutable(path.Clean(rel)) {
			return 0o755
		}
		return oci.NormalizedMode(name, m)
	}
	w, err := oci.NewLayerWriter(lo)
	if err != nil {
		return nil, fmt.Errorf("writing layer of %s: %w", d.FullName(), err)
	}
	err = w.Dir(idDir, fs.ModeDir|0o755, 0, 0)
	if err == nil {
		err = w.Tree(ctx, d.Dir, versionDir, 0, 0)
	}
	if err != nil {
		_ = w.Abort()
		return nil, fmt.Errorf("writing layer of %s: %w", d.FullName(), err)
	}
	l, err := w.Layer()
	if err != nil {
		return nil, fmt.Errorf("writing layer of %s: %w", d.FullName(), err)
	}
	return l, nil
}
