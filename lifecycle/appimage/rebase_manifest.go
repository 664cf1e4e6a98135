package appimage

import (
	"bytes"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestImage is an image given by its manifest, its config and the
// layer objects the manifest lists, in order. Unlike ggcr's mutate, it
// never asks a layer for its diffID (which costs a decompression for
// layers that cannot answer from a config) and hands writers the layer
// objects themselves, so that remote layers can be mounted.
type manifestImage struct {
	manifest    *v1.Manifest
	rawManifest []byte
	mediaType   types.MediaType
	cfg         *v1.ConfigFile
	rawConfig   []byte
	layers      []v1.Layer
	byDigest    map[v1.Hash]v1.Layer
	byDiffID    map[v1.Hash]v1.Layer
}

var _ v1.Image = (*manifestImage)(nil)

func (i *manifestImage) Layers() ([]v1.Layer, error) {
	return append([]v1.Layer(nil), i.layers...), nil
}
func (i *manifestImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *manifestImage) Size() (int64, error)                { return int64(len(i.rawManifest)), nil }
func (i *manifestImage) ConfigName() (v1.Hash, error)        { return i.manifest.Config.Digest, nil }
func (i *manifestImage) ConfigFile() (*v1.ConfigFile, error) { return i.cfg.DeepCopy(), nil }
func (i *manifestImage) RawConfigFile() ([]byte, error)      { return i.rawConfig, nil }
func (i *manifestImage) Manifest() (*v1.Manifest, error)     { return i.manifest.DeepCopy(), nil }
func (i *manifestImage) RawManifest() ([]byte, error)        { return i.rawManifest, nil }

func (i *manifestImage) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(i.rawManifest))
	return h, err
}

func (i *manifestImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if h == i.manifest.Config.Digest {
		return partial.ConfigLayer(i)
	}
	if l, ok := i.byDigest[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("no layer with digest %s", h)
}

func (i *manifestImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	if l, ok := i.byDiffID[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("no layer with diffID %s", h)
}
