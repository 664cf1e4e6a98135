package appimage

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/kilnbuild/kiln/lifecycle"
	"github.com/kilnbuild/kiln/lifecycle/api"
)

// runImageEdit is what a rebase changes in the io.buildpacks.lifecycle.metadata
// label: runImage.topLayer and runImage.reference, and, when name is set (a
// forced rebase onto a run image the app did not record), the recorded run
// image names. The label is edited in place: keys keep their order and
// everything else keeps its bytes, so a label written by another lifecycle
// loses nothing kiln does not know about.
type runImageEdit struct {
	topLayer, reference string
	name                string
	// local replaces the LabelLocalRunImage label when setLocal is set
	// ("" removes it).
	local    string
	setLocal bool
}

// apply returns the edited label.
func (e runImageEdit) apply(label string, api api.Version) (string, error) {
	top, err := parseJSONObject([]byte(label))
	if err != nil {
		return "", fmt.Errorf("editing label %s: %w", lifecycle.LabelLifecycleMetadata, err)
	}
	run, err := top.object("runImage")
	if err != nil {
		return "", fmt.Errorf("editing label %s: runImage: %w", lifecycle.LabelLifecycleMetadata, err)
	}
	run.set("topLayer", e.topLayer)
	run.set("reference", e.reference)
	if e.name != "" {
		if api.AtLeast("0.12") {
			run.set("image", e.name)
			run.del("mirrors")
		}
		top.set("stack", map[string]any{"runImage": map[string]string{"image": e.name}})
	}
	top.set("runImage", run)
	out, err := json.Marshal(top)
	if err != nil {
		return "", fmt.Errorf("editing label %s: %w", lifecycle.LabelLifecycleMetadata, err)
	}
	return string(out), nil
}

// jsonObject is a JSON object whose keys keep their order and whose values
// keep their bytes.
type jsonObject []jsonField

type jsonField struct {
	key   string
	value json.RawMessage
}

// parseJSONObject reads one JSON object.
func parseJSONObject(b []byte) (jsonObject, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var o jsonObject
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o = append(o, jsonField{key: tok.(string), value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return o, nil
}

// object returns the object under key; an empty one when key is absent or
// null.
func (o jsonObject) object(key string) (jsonObject, error) {
	for _, f := range o {
		if f.key == key && string(f.value) != "null" {
			return parseJSONObject(f.value)
		}
	}
	return jsonObject{}, nil
}

// set replaces key's value in place, or appends key. Values that cannot be
// marshalled do not occur here (strings, maps of strings, jsonObjects).
func (o *jsonObject) set(key string, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshalling %s: %v", key, err))
	}
	for i := range *o {
		if (*o)[i].key == key {
			(*o)[i].value = raw
			return
		}
	}
	*o = append(*o, jsonField{key: key, value: raw})
}

// del removes key.
func (o *jsonObject) del(key string) {
	kept := (*o)[:0]
	for _, f := range *o {
		if f.key != key {
			kept = append(kept, f)
		}
	}
	*o = kept
}

// MarshalJSON writes the fields in order.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
