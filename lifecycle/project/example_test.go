package project_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kilnbuild/kiln/lifecycle/project"
)

// A platform reads the app's project.toml and copies the app into the
// workspace with its include/exclude patterns applied.
func ExampleCopyApp() {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "project-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	write := func(name, content string, mode os.FileMode) {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			log.Fatal(err)
		}
	}
	// An app whose project.toml leaves its docs out.
	write("app/main.sh", "echo app\n", 0o644)
	write("app/docs/README.md", "docs\n", 0o644)
	write("app/project.toml", "[_]\nschema-version = \"0.2\"\n[io.buildpacks]\nexclude = [\"docs/\"]\n", 0o644)

	proj, err := project.Load(filepath.Join(work, "app"), "")
	if err != nil {
		log.Fatal(err)
	}
	ws := filepath.Join(work, "workspace")
	if err := project.CopyApp(ctx, filepath.Join(work, "app"), ws, proj.Include, proj.Exclude); err != nil {
		log.Fatal(err)
	}
	entries, _ := os.ReadDir(ws)
	for _, e := range entries {
		fmt.Println("workspace:", e.Name())
	}
	// Output:
	// workspace: main.sh
	// workspace: project.toml
}
