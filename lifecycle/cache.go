package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kilnbuild/kiln/oci"
)

// LabelCacheMetadata is the label of a cache image that holds its
// CacheMetadata.
const LabelCacheMetadata = "io.buildpacks.lifecycle.cache.metadata"

// CacheMetadata describes the layers a cache holds: for each buildpack, its
// cache=true layers with their diffIDs, [metadata] and flags (CNB contract
// §2.5). A cache layer's diffID is the one the app image would give it.
type CacheMetadata struct {
	// SBOM is the layer of <layers>/sbom/cache: the SBOM files of cached
	// layers.
	SBOM       *LayerSHA         `json:"sbom,omitempty"`
	Buildpacks []BuildpackLayers `json:"buildpacks"`
}

// ForBuildpack returns the layers cached for buildpack id; the zero value
// when there are none.
func (m *CacheMetadata) ForBuildpack(id string) BuildpackLayers {
	if m == nil {
		return BuildpackLayers{}
	}
	for _, b := range m.Buildpacks {
		if b.ID == id {
			return b
		}
	}
	return BuildpackLayers{}
}

// Cache keeps cache=true layers between builds as an image: in an OCI
// layout (a cache directory a CI system saves and restores, or kiln's
// store) or in a registry (an image several runners share). Writes go
// through oci.Write: blobs first, the index or manifest that names them
// last, so a cache is either the old one or the new one, never a mix.
type Cache struct {
	// Ref is the cache image.
	Ref oci.Reference
	// Options read and write Ref (store, insecure registries, keychain).
	Options []oci.Option
	// Prune removes the blobs of a layout that its index no longer names
	// after a write: for a directory that holds nothing but this cache.
	Prune bool
	// Trees, when set, is a directory on the build's file system where
	// the cached layers are also kept unpacked (see KeepTrees).
	Trees string
	// Discard, when set, moves a tree of Trees that is no longer needed
	// out of the way (oci.Store.Discard: one rename into the store's
	// trash, removed later off the build's critical path); nil removes it
	// at once.
	Discard func(path string) error
}

// String names the cache for messages.
func (c *Cache) String() string { return c.Ref.String() }

// Read returns the cache image and its metadata. A cache that does not
// exist yet is no error: the image is nil and the metadata empty.
func (c *Cache) Read(ctx context.Context) (v1.Image, CacheMetadata, error) {
	if c.Ref.Kind == oci.KindLayout {
		if _, err := os.Stat(filepath.Join(c.Ref.Path, "index.json")); errors.Is(err, fs.ErrNotExist) {
			return nil, CacheMetadata{}, nil
		}
	}
	img, err := oci.Read(ctx, c.Ref, c.Options...)
	var terr *transport.Error
	if errors.Is(err, oci.ErrNotFound) || errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil, CacheMetadata{}, nil
	}
	if err != nil {
		return nil, CacheMetadata{}, fmt.Errorf("reading cache %s: %w", c, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, CacheMetadata{}, fmt.Errorf("reading cache %s: %w", c, err)
	}
	var m CacheMetadata
	if raw, ok := cf.Config.Labels[LabelCacheMetadata]; ok {
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, CacheMetadata{}, fmt.Errorf("reading cache %s: label %s: %w", c, LabelCacheMetadata, err)
		}
	}
	return img, m, nil
}

// Write replaces the cache with layers described by m.
func (c *Cache) Write(ctx context.Context, m CacheMetadata, layers []v1.Layer) error {
	img, err := cacheImage(m, layers)
	if err != nil {
		return fmt.Errorf("writing cache %s: %w", c, err)
	}
	if _, err := oci.Write(ctx, c.Ref, img, c.Options...); err != nil {
		return fmt.Errorf("writing cache %s: %w", c, err)
	}
	if c.Prune && c.Ref.Kind == oci.KindLayout {
		if err := pruneLayout(c.Ref.Path); err != nil {
			return fmt.Errorf("pruning cache %s: %w", c, err)
		}
	}
	return nil
}

// Drop removes the blobs of layers found unusable from a layout cache, so
// that the next Write stores them again rather than keeping a damaged
// copy. A registry checks what it is given; there it does nothing.
func (c *Cache) Drop(layers []v1.Layer) error {
	if c.Ref.Kind != oci.KindLayout {
		return nil
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		p := filepath.Join(c.Ref.Path, "blobs", d.Algorithm, d.Hex)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("dropping cached layer %s: %w", d, err)
		}
	}
	return nil
}

// cacheImage is the cache as an OCI image: the layers on an empty base and
// the metadata label; everything dated oci.Epoch.
func cacheImage(m CacheMetadata, layers []v1.Layer) (v1.Image, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	base, err = mutate.ConfigFile(base, cf)
	if err != nil {
		return nil, err
	}
	adds := make([]oci.Append, 0, len(layers))
	for _, l := range layers {
		adds = append(adds, oci.Append{Layer: l, History: v1.History{Created: v1.Time{Time: oci.Epoch}, CreatedBy: "kiln cache"}})
	}
	created := oci.Epoch
	return oci.Mutate(base, oci.Mutation{
		Labels:  map[string]string{LabelCacheMetadata: string(raw)},
		Layers:  adds,
		Created: &created,
	})
}

// pruneLayout removes the blobs of the layout at dir that no manifest of
// its index names. It runs after the index was written, so a crash leaves
// unused blobs behind, never a missing one.
func pruneLayout(dir string) error {
	keep, err := layoutBlobs(dir)
	if err != nil {
		return err
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	entries, err := os.ReadDir(blobs)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || keep[e.Name()] {
			continue // temp files of a concurrent write, or in use
		}
		if err := os.Remove(filepath.Join(blobs, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// layoutBlobs lists the sha256 blobs (hex) the index of the layout at dir
// refers to: manifests, their configs and layers, nested indexes.
func layoutBlobs(dir string) (map[string]bool, error) {
	keep := map[string]bool{}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	var walk func(raw []byte) error
	walk = func(raw []byte) error {
		var m struct {
			Manifests []v1.Descriptor `json:"manifests"`
			Config    *v1.Descriptor  `json:"config"`
			Layers    []v1.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		if m.Config != nil {
			keep[m.Config.Digest.Hex] = true
		}
		for _, l := range m.Layers {
			keep[l.Digest.Hex] = true
		}
		for _, d := range m.Manifests {
			if keep[d.Digest.Hex] {
				continue
			}
			keep[d.Digest.Hex] = true
			b, err := os.ReadFile(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
			if err != nil {
				return err
			}
			if err := walk(b); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(raw); err != nil {
		return nil, err
	}
	return keep, nil
}
