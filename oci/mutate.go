package oci

import (
	"fmt"
	"maps"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Mutation is a set of config edits and layers to append to a base image.
// Nil and zero fields leave the base as it is.
type Mutation struct {
	Labels     map[string]string // merged into the base's labels ("" values kept)
	Env        []string          // KEY=VALUE, replacing the base's value of KEY
	Entrypoint []string          // replaces the entrypoint when non-nil; empty clears it
	Cmd        []string          // replaces the command when non-nil; empty clears it
	User       *string           // replaces the user when non-nil
	WorkingDir *string           // replaces the working directory when non-nil
	Layers     []Append          // appended in order
	History    []v1.History      // entries without a layer (EmptyLayer is set)
	Created    *time.Time        // the config's created time (and of new history)
}

// Append is a layer to append and the history entry that describes it.
type Append struct {
	Layer   v1.Layer
	History v1.History
}

// Mutate returns base with m applied. Appended layers take the media type
// family of the base's manifest (Docker v2 or OCI), so that the result is
// a valid image of one kind; ggcr's mutate.Append would otherwise keep each
// layer's own media type and mix the two (and its Addendum.MediaType changes
// only the manifest, not what the layer reports, which validate.Image rejects).
func Mutate(base v1.Image, m Mutation) (v1.Image, error) {
	mt, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("mutating image: %w", err)
	}
	adds := make([]mutate.Addendum, 0, len(m.Layers))
	for _, a := range m.Layers {
		lmt, err := a.Layer.MediaType()
		if err != nil {
			return nil, fmt.Errorf("mutating image: %w", err)
		}
		h := a.History
		if h.Created.IsZero() && m.Created != nil {
			h.Created = v1.Time{Time: *m.Created}
		}
		layer := a.Layer
		if want := layerMediaType(mt, lmt); want != lmt {
			layer = &retypedLayer{Layer: layer, mediaType: want}
		}
		adds = append(adds, mutate.Addendum{Layer: layer, History: h})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, fmt.Errorf("mutating image: appending layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("mutating image: %w", err)
	}
	cf = cf.DeepCopy()
	applyConfig(&cf.Config, m)
	for _, h := range m.History {
		h.EmptyLayer = true
		if h.Created.IsZero() && m.Created != nil {
			h.Created = v1.Time{Time: *m.Created}
		}
		cf.History = append(cf.History, h)
	}
	if m.Created != nil {
		cf.Created = v1.Time{Time: *m.Created}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("mutating image: %w", err)
	}
	return img, nil
}

func applyConfig(c *v1.Config, m Mutation) {
	if len(m.Labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		maps.Copy(c.Labels, m.Labels)
	}
	for _, kv := range m.Env {
		c.Env = setEnv(c.Env, kv)
	}
	if m.Entrypoint != nil {
		c.Entrypoint = nilIfEmpty(m.Entrypoint)
	}
	if m.Cmd != nil {
		c.Cmd = nilIfEmpty(m.Cmd)
	}
	if m.User != nil {
		c.User = *m.User
	}
	if m.WorkingDir != nil {
		c.WorkingDir = *m.WorkingDir
	}
}

// nilIfEmpty returns nil for an empty slice: the config's JSON omits empty
// lists, so an empty one would not survive a round trip.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// setEnv replaces KEY's entry in env with kv (KEY=VALUE), or appends it.
func setEnv(env []string, kv string) []string {
	key := kv
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			key = kv[:i]
			break
		}
	}
	out := make([]string, 0, len(env)+1)
	replaced := false
	for _, e := range env {
		if e == key || len(e) > len(key) && e[:len(key)] == key && e[len(key)] == '=' {
			if !replaced {
				out = append(out, kv)
				replaced = true
			}
			continue
		}
		out = append(out, e)
	}
	if !replaced {
		out = append(out, kv)
	}
	return out
}

// layerMediaType returns the layer media type of the manifest family mt that
// corresponds to the layer's own type lmt.
func layerMediaType(mt, lmt types.MediaType) types.MediaType {
	docker := mt == types.DockerManifestSchema2
	switch lmt {
	case types.OCILayer, types.DockerLayer:
		if docker {
			return types.DockerLayer
		}
		return types.OCILayer
	case types.OCIUncompressedLayer, types.DockerUncompressedLayer:
		if docker {
			return types.DockerUncompressedLayer
		}
		return types.OCIUncompressedLayer
	}
	return lmt // zstd and foreign layers have no counterpart to switch to
}

// toOCI returns img with OCI media types: manifest, config and layers. The
// layers' bytes, and so their digests, are unchanged; the manifest is new.
// Images that already are OCI are returned as they are.
func toOCI(img v1.Image) (v1.Image, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	if mt == types.OCIManifestSchema1 {
		return img, nil
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, l := range layers {
		lmt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		if want := layerMediaType(types.OCIManifestSchema1, lmt); want != lmt {
			l = &retypedLayer{Layer: l, mediaType: want}
		}
		adds = append(adds, mutate.Addendum{Layer: l})
	}
	out, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	// The config names the layers' diffIDs and history already.
	return mutate.ConfigFile(out, cf)
}

// retypedLayer is a layer reporting another media type of the same
// compression (the Docker and OCI names for the same bytes).
type retypedLayer struct {
	v1.Layer
	mediaType types.MediaType
}

func (l *retypedLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }
