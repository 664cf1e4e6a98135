package deploy

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// GitLab CI's .gitlab-ci.yml keywords, from GitLab's CI/CD YAML syntax
// reference: the global keywords, and a job's. The values kiln's template
// uses are checked in shape; keywords it does not use accept any value.
var (
	gitlabImage = oneOf(str(), fields(map[string]schema{
		"name": str(), "entrypoint": seq(str()), "pull_policy": strOrList(),
		"docker":     fields(map[string]schema{"platform": str(), "user": str()}),
		"kubernetes": fields(map[string]schema{"user": str()}),
	}))
	gitlabArtifacts = fields(map[string]schema{
		"paths": seq(str()), "exclude": seq(str()), "expire_in": str(), "expose_as": str(), "name": str(),
		"public": str(), "access": str(), "reports": anything(), "untracked": str(), "when": str(),
	})
	gitlabNeeds = seq(oneOf(str(), fields(map[string]schema{
		"job": str(), "artifacts": str(), "optional": str(), "pipeline": str(), "project": str(), "ref": str(),
		"parallel": anything(),
	})))
	gitlabJobVariables = dict(oneOf(str(), fields(map[string]schema{"value": str(), "expand": str()})))
	gitlabJob          = fields(map[string]schema{
		"after_script": strOrList(), "allow_failure": anything(), "artifacts": gitlabArtifacts,
		"before_script": strOrList(), "cache": anything(), "coverage": str(), "dast_configuration": anything(),
		"dependencies": seq(str()), "environment": anything(), "extends": strOrList(), "hooks": anything(),
		"identity": str(), "id_tokens": anything(), "image": gitlabImage, "inherit": anything(),
		"interruptible": str(), "manual_confirmation": str(), "needs": gitlabNeeds, "pages": anything(),
		"parallel": anything(), "release": anything(), "resource_group": str(), "retry": anything(),
		"rules": anything(), "run": anything(), "script": strOrList(), "secrets": anything(),
		"services": anything(), "stage": str(), "start_in": str(), "tags": seq(str()), "timeout": str(),
		"trigger": anything(), "variables": gitlabJobVariables, "when": str(),
	})
	gitlabGlobals = map[string]schema{
		"default": anything(), "include": anything(), "stages": seq(str()), "workflow": anything(),
		"variables": dict(oneOf(str(), fields(map[string]schema{
			"value": str(), "description": str(), "options": seq(str()), "expand": str(),
		}))),
		// Deprecated globals, still read by GitLab.
		"image": gitlabImage, "services": anything(), "cache": anything(),
		"before_script": strOrList(), "after_script": strOrList(),
	}
)

// gitlabCheck checks a .gitlab-ci.yml: every top-level key is a global
// keyword or a job.
func gitlabCheck(root *yaml.Node) []string {
	return dict(anything())("", root) // duplicates
}

// TestGitLabTemplate checks deploy/gitlab/kiln.gitlab-ci.yml against
// GitLab's keywords, its stages and needs, and that the registry
// credentials are used by kiln-push only.
func TestGitLabTemplate(t *testing.T) {
	root := readYAML(t, "gitlab/kiln.gitlab-ci.yml")
	problems := gitlabCheck(root)
	jobs := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		if s, ok := gitlabGlobals[k]; ok {
			problems = append(problems, s(k, v)...)
			continue
		}
		problems = append(problems, gitlabJob(k, v)...)
		jobs[k] = v
	}
	for _, p := range problems {
		t.Error(p)
	}
	stages := map[string]bool{}
	for _, s := range get(root, "stages").Content {
		stages[s.Value] = true
	}
	for name, job := range jobs {
		if st := get(job, "stage"); st == nil || !stages[st.Value] {
			t.Errorf("job %s: its stage is not one of stages", name)
		}
		if needs := get(job, "needs"); needs != nil {
			for _, n := range needs.Content {
				if dep := get(n, "job"); dep != nil && jobs[dep.Value] == nil {
					t.Errorf("job %s needs %s, which is no job", name, dep.Value)
				}
			}
		}
	}
	build, push := jobs["kiln-build"], jobs["kiln-push"]
	if build == nil || push == nil {
		t.Fatal("the template has no kiln-build or kiln-push job")
	}
	if b := text(t, build); strings.Contains(b, "CI_REGISTRY_PASSWORD") || strings.Contains(b, "DOCKER_CONFIG") ||
		!strings.Contains(b, "--builder rootfs:/") {
		t.Errorf("kiln-build must build in place and use no registry credentials:\n%s", b)
	}
	if p := text(t, push); !strings.Contains(p, "CI_REGISTRY_PASSWORD") || !strings.Contains(p, "image copy") {
		t.Errorf("kiln-push should copy the image with the registry's credentials:\n%s", p)
	}
}

// TestGitLabSchemaBites proves the check refuses a misspelt keyword and a
// value of the wrong shape.
func TestGitLabSchemaBites(t *testing.T) {
	for _, bad := range []string{
		"j:\n  stage: build\n  scripts: [echo]\n",
		"j:\n  stage: build\n  script: [echo]\n  image: {name: x, entrypoints: ['']}\n",
		"j:\n  stage: build\n  script: [echo]\n  artifacts: {paths: x}\n",
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(bad), &doc); err != nil {
			t.Fatal(err)
		}
		if p := gitlabJob("j", get(doc.Content[0], "j")); len(p) == 0 {
			t.Errorf("accepted:\n%s", bad)
		}
	}
}
