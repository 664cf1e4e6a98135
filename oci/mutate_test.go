package oci

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestMutate(t *testing.T) {
	created := time.Date(2020, 2, 2, 0, 0, 0, 0, time.UTC)
	user, wd := "1000:1000", "/workspace"
	for _, tc := range []struct {
		name      string
		base      func(testing.TB, int) v1.Image
		layerType types.MediaType // deliberately of the other family
		wantLayer types.MediaType
	}{
		{"docker-base", dockerImage, types.OCILayer, types.DockerLayer},
		{"oci-base", ociImage, types.DockerLayer, types.OCILayer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base(t, 1)
			layer, err := random.Layer(512, tc.layerType)
			if err != nil {
				t.Fatal(err)
			}
			img, err := Mutate(base, Mutation{
				Labels:     map[string]string{"io.buildpacks.stack.id": "kiln.test"},
				Env:        []string{"PATH=/cnb/bin:/usr/bin", "CNB_USER_ID=1000"},
				Entrypoint: []string{"/cnb/lifecycle/launcher"},
				Cmd:        []string{}, // cleared
				User:       &user,
				WorkingDir: &wd,
				Layers:     []Append{{Layer: layer, History: v1.History{CreatedBy: "kiln: app layer"}}},
				History:    []v1.History{{CreatedBy: "kiln: config"}},
				Created:    &created,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Fatal(err)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range m.Layers {
				if l.MediaType != tc.wantLayer {
					t.Errorf("layer %s has media type %s, want %s", l.Digest, l.MediaType, tc.wantLayer)
				}
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			got := cf.Config
			want := v1.Config{
				Labels:     map[string]string{"io.buildpacks.stack.id": "kiln.test"},
				Env:        []string{"PATH=/cnb/bin:/usr/bin", "CNB_USER_ID=1000"},
				Entrypoint: []string{"/cnb/lifecycle/launcher"},
				User:       user,
				WorkingDir: wd,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if !cf.Created.Time.Equal(created) {
				t.Errorf("created = %s, want %s", cf.Created, created)
			}
			if n := len(cf.History); n != 3 || !cf.History[2].EmptyLayer || cf.History[1].CreatedBy != "kiln: app layer" {
				t.Errorf("history = %+v, want the base's entry, the layer's, then an empty one", cf.History)
			}
			ref := mustParse(t, "oci:"+filepath.Join(t.TempDir(), "layout")+":mutated")
			if _, err := Write(context.Background(), ref, img); err != nil {
				t.Fatal(err)
			}
			checkOutput(t, ref)
		})
	}
}

func TestSetEnv(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		kv   string
		want []string
	}{
		{nil, "A=1", []string{"A=1"}},
		{[]string{"A=0", "AB=2"}, "A=1", []string{"A=1", "AB=2"}},
		{[]string{"AB=2", "A"}, "A=", []string{"AB=2", "A="}},
		{[]string{"A=0", "A=9"}, "A=1", []string{"A=1"}},
	} {
		if diff := cmp.Diff(tc.want, setEnv(tc.env, tc.kv)); diff != "" {
			t.Errorf("setEnv(%q, %q) (-want +got):\n%s", tc.env, tc.kv, diff)
		}
	}
}
