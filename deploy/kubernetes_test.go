package deploy

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// readStrict decodes a Kubernetes manifest into v as the API server does
// in strict field validation: a field the API type lacks (names are case
// sensitive, unlike encoding/json's), or a duplicate field, is an error.
func readStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func decodeStrict(b []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// restricted checks a pod against the restricted Pod Security Standard of
// the newest Kubernetes version the admission library knows, with the
// checks the API server's admission plugin runs.
func restricted(t *testing.T, what string, meta *metav1.ObjectMeta, spec *corev1.PodSpec) {
	t.Helper()
	for _, v := range violations(t, meta, spec) {
		t.Errorf("%s is not restricted: %s", what, v)
	}
}

// violations are the restricted standard's objections to a pod.
func violations(t *testing.T, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	t.Helper()
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	var out []string
	for _, r := range eval.EvaluatePod(lv, meta, spec) {
		if !r.Allowed {
			out = append(out, r.ForbiddenReason+": "+r.ForbiddenDetail)
		}
	}
	return out
}

// TestRestrictedCheckBites proves the check objects to what the Job must
// not do: a container that may escalate privileges, keeps capabilities,
// and a pod that may run as root.
func TestRestrictedCheckBites(t *testing.T) {
	var job batchv1.Job
	readStrict(t, "kubernetes/job.yaml", &job)
	spec := &job.Spec.Template.Spec
	spec.SecurityContext.RunAsNonRoot = nil
	spec.SecurityContext.RunAsUser = nil
	c := &spec.InitContainers[0]
	c.SecurityContext.AllowPrivilegeEscalation = nil
	c.SecurityContext.Capabilities = nil
	got := strings.Join(violations(t, &job.Spec.Template.ObjectMeta, spec), "\n")
	for _, want := range []string{"allowPrivilegeEscalation", "unrestricted capabilities", "runAsNonRoot"} {
		if !strings.Contains(got, want) {
			t.Errorf("no objection about %s:\n%s", want, got)
		}
	}
}

// TestKubernetesJob decodes deploy/kubernetes/job.yaml as a batch/v1 Job,
// checks its pod against the restricted standard, and that the registry
// credentials reach the push container only.
func TestKubernetesJob(t *testing.T) {
	var job batchv1.Job
	readStrict(t, "kubernetes/job.yaml", &job)
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Fatalf("apiVersion %q, kind %q", job.APIVersion, job.Kind)
	}
	spec := &job.Spec.Template.Spec
	restricted(t, "the Job's pod", &job.Spec.Template.ObjectMeta, spec)
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token, which buildpacks could read")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	var sawBuild bool
	for _, c := range all {
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("container %s mounts volume %s, which the pod does not have", c.Name, m.Name)
			}
		}
		credentials := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "registry-credentials" }) ||
			slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "DOCKER_CONFIG" })
		if credentials != (c.Name == "push") {
			t.Errorf("container %s: registry credentials %v; only the push container may have them", c.Name, credentials)
		}
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("container %s has a writable root filesystem", c.Name)
		}
		if c.Name == "build" {
			sawBuild = true
			args := strings.Join(c.Args, " ")
			for _, want := range []string{"--builder=rootfs:/", "--path=/workspace", "oci:/shared/out"} {
				if !strings.Contains(args, want) {
					t.Errorf("the build container's args lack %s: %s", want, args)
				}
			}
		}
	}
	if !sawBuild {
		t.Error("no build container")
	}
	if s := volumes["registry-credentials"].Secret; s == nil || len(s.Items) != 1 || s.Items[0].Path != "config.json" {
		t.Errorf("registry-credentials should be a Secret's .dockerconfigjson as config.json: %+v", volumes["registry-credentials"])
	}
}

// TestStrictDecodeCatchesTypos proves the decoding refuses what a typo
// makes: a misspelt field of a container.
func TestStrictDecodeCatchesTypos(t *testing.T) {
	b, err := os.ReadFile("kubernetes/job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, typo := range [][2]string{
		{"readOnlyRootFilesystem:", "readOnlyRootFileSystem:"}, // only the case differs
		{"allowPrivilegeEscalation:", "allowPrivilegeEscalations:"},
		{"  backoffLimit: 0", "  backoffLimit: 0\n  backoffLimit: 1"}, // duplicate
	} {
		bad := strings.Replace(string(b), typo[0], typo[1], 1)
		var job batchv1.Job
		if err := decodeStrict([]byte(bad), &job); err == nil {
			t.Errorf("%q for %q decoded without an error", typo[1], typo[0])
		}
	}
}
