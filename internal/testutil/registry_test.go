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
