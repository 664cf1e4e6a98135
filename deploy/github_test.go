package deploy

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// GitHub Actions' workflow syntax: the workflow's keys, a job's and a
// step's.
var (
	githubStep = fields(map[string]schema{
		"id": str(), "if": str(), "name": str(), "uses": str(), "run": str(), "working-directory": str(),
		"shell": str(), "with": dict(str()), "env": dict(str()), "continue-on-error": str(), "timeout-minutes": str(),
	})
	githubJob = fields(map[string]schema{
		"name": str(), "permissions": anything(), "needs": strOrList(), "if": str(), "runs-on": anything(),
		"snapshot": anything(), "environment": anything(), "concurrency": anything(), "outputs": dict(str()),
		"env": dict(str()), "defaults": anything(), "steps": seq(githubStep), "timeout-minutes": str(),
		"strategy": anything(), "continue-on-error": str(), "container": anything(), "services": anything(),
		"uses": str(), "with": anything(), "secrets": anything(),
	})
	githubWorkflow = fields(map[string]schema{
		"name": str(), "run-name": str(), "on": anything(), "permissions": oneOf(str(), dict(str())),
		"env": dict(str()), "defaults": anything(), "concurrency": anything(), "jobs": dict(githubJob),
	})
)

// TestGitHubWorkflow checks deploy/github/kiln-build.yml against the
// workflow syntax, and that the build step sees no credentials.
func TestGitHubWorkflow(t *testing.T) {
	root := readYAML(t, "github/kiln-build.yml")
	for _, p := range githubWorkflow("", root) {
		t.Error(p)
	}
	for _, job := range get(root, "jobs").Content {
		steps := get(job, "steps")
		if steps == nil {
			continue
		}
		for _, st := range steps.Content {
			if (get(st, "uses") == nil) == (get(st, "run") == nil) {
				t.Errorf("step %s: needs exactly one of uses and run", text(t, st))
			}
			name := get(st, "name")
			if name == nil || !strings.HasPrefix(name.Value, "Build") {
				continue
			}
			if s := text(t, st); strings.Contains(s, "secrets.") || strings.Contains(s, "DOCKER_CONFIG") || get(st, "env") != nil {
				t.Errorf("the build step must see no credentials:\n%s", s)
			}
		}
	}
	if !strings.Contains(text(t, root), "image copy") {
		t.Error("the workflow never pushes the image")
	}
}

// TestGitHubSchemaBites proves the check refuses misspelt keys.
func TestGitHubSchemaBites(t *testing.T) {
	for _, bad := range []string{
		"jobs:\n  b:\n    runs-on: x\n    step: []\n",
		"jobs:\n  b:\n    runs-on: x\n    steps: [{run: x, enviroment: {}}]\n",
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(bad), &doc); err != nil {
			t.Fatal(err)
		}
		if p := githubWorkflow("", doc.Content[0]); len(p) == 0 {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}
