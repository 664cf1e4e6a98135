package lifecycle

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestWriteReport(t *testing.T) {
	p := filepath.Join(t.TempDir(), "report.toml")
	r := Report{Image: ImageReport{Tags: []string{"registry.example/app:latest"}, Digest: "sha256:" + strings.Repeat("a", 64), ManifestSize: 1769}}
	if err := WriteReport(p, r); err != nil {
		t.Fatal(err)
	}
	want := `[image]
  tags = ["registry.example/app:latest"]
  digest = "sha256:` + strings.Repeat("a", 64) + `"
  manifest-size = 1769
`
	if diff := cmp.Diff(want, readFile(t, p)); diff != "" {
		t.Errorf("report.toml (-want +got):\n%s", diff)
	}
}

// TestExportReportJSON pins the JSON the CLI's --report embeds.
func TestExportReportJSON(t *testing.T) {
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("b", 64)}
	r := ExportReport{
		Layers:         []LayerReport{{ID: "slice-1", CreatedBy: "Application Layer", DiffID: h, Digest: h, Size: 42, Reused: true}},
		DefaultProcess: "web",
		Entrypoint:     []string{"/cnb/process/web"},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	d := "sha256:" + strings.Repeat("b", 64)
	want := `{"layers":[{"id":"slice-1","createdBy":"Application Layer","diffID":"` + d + `","digest":"` + d +
		`","size":42,"reused":true}],"defaultProcess":"web","entrypoint":["/cnb/process/web"]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}
