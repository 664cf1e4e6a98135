package testutil

import (
	"net/http"
	"testing"
)

func TestRegistries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB) *Registry
	}{
		{"in-process", NewRegistry},
		{"docker-registry", StartDockerRegistry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.start(t)
			resp, err := http.Get("http://" + r.Host + "/v2/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /v2/: %s", resp.Status)
			}
			r.Close()
			if _, err := http.Get("http://" + r.Host + "/v2/"); err == nil {
				t.Fatal("the registry still answers after Close")
			}
		})
	}
}

func TestDockerRegistryAuth(t *testing.T) {
	r := StartDockerRegistryAuth(t, "kiln", "s3cret")
	for _, tc := range []struct {
		user, password string
		want           int
	}{{"", "", http.StatusUnauthorized}, {"kiln", "wrong", http.StatusUnauthorized}, {"kiln", "s3cret", http.StatusOK}} {
		req, _ := http.NewRequest("GET", "http://"+r.Host+"/v2/", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%q:%q: %s, want %d", tc.user, tc.password, resp.Status, tc.want)
		}
	}
}
