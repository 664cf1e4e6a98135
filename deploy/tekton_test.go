package deploy

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tekton's tekton.dev/v1 Task, field for field as the Pipelines API
// defines it (pkg/apis/pipeline/v1: Task, TaskSpec, ParamSpec, Step,
// StepTemplate, WorkspaceDeclaration, WorkspaceUsage, TaskResult). The
// Kubernetes parts are the real Kubernetes types. Decoded strictly, a field
// Tekton does not have is an error, as kubectl apply's strict validation
// makes it; pulling Tekton's module in for its types would bring a large
// part of Knative along.
type tektonTask struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            tektonTaskSpec    `json:"spec"`
}

type tektonTaskSpec struct {
	Params       []tektonParamSpec     `json:"params,omitempty"`
	DisplayName  string                `json:"displayName,omitempty"`
	Description  string                `json:"description,omitempty"`
	Steps        []tektonStep          `json:"steps,omitempty"`
	Volumes      []corev1.Volume       `json:"volumes,omitempty"`
	StepTemplate *tektonStepTemplate   `json:"stepTemplate,omitempty"`
	Sidecars     []json.RawMessage     `json:"sidecars,omitempty"`
	Workspaces   []tektonWorkspaceDecl `json:"workspaces,omitempty"`
	Results      []tektonTaskResult    `json:"results,omitempty"`
}

type tektonParamSpec struct {
	Name        string          `json:"name"`
	Type        string          `json:"type,omitempty"`
	Description string          `json:"description,omitempty"`
	Properties  json.RawMessage `json:"properties,omitempty"`
	Default     json.RawMessage `json:"default,omitempty"`
	Enum        []string        `json:"enum,omitempty"`
}

type tektonWorkspaceDecl struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	MountPath   string `json:"mountPath,omitempty"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
	Optional    bool   `json:"optional,omitempty"`
}

type tektonWorkspaceUsage struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath,omitempty"`
}

type tektonTaskResult struct {
	Name        string          `json:"name"`
	Type        string          `json:"type,omitempty"`
	Properties  json.RawMessage `json:"properties,omitempty"`
	Description string          `json:"description,omitempty"`
	Value       json.RawMessage `json:"value,omitempty"`
}

type tektonStep struct {
	Name             string                      `json:"name"`
	DisplayName      string                      `json:"displayName,omitempty"`
	Image            string                      `json:"image,omitempty"`
	Command          []string                    `json:"command,omitempty"`
	Args             []string                    `json:"args,omitempty"`
	WorkingDir       string                      `json:"workingDir,omitempty"`
	EnvFrom          []corev1.EnvFromSource      `json:"envFrom,omitempty"`
	Env              []corev1.EnvVar             `json:"env,omitempty"`
	ComputeResources corev1.ResourceRequirements `json:"computeResources,omitempty"`
	VolumeMounts     []corev1.VolumeMount        `json:"volumeMounts,omitempty"`
	VolumeDevices    []corev1.VolumeDevice       `json:"volumeDevices,omitempty"`
	ImagePullPolicy  corev1.PullPolicy           `json:"imagePullPolicy,omitempty"`
	SecurityContext  *corev1.SecurityContext     `json:"securityContext,omitempty"`
	Script           string                      `json:"script,omitempty"`
	Timeout          *metav1.Duration            `json:"timeout,omitempty"`
	Workspaces       []tektonWorkspaceUsage      `json:"workspaces,omitempty"`
	OnError          string                      `json:"onError,omitempty"`
	StdoutConfig     json.RawMessage             `json:"stdoutConfig,omitempty"`
	StderrConfig     json.RawMessage             `json:"stderrConfig,omitempty"`
	Params           json.RawMessage             `json:"params,omitempty"`
	Results          json.RawMessage             `json:"results,omitempty"`
	Ref              json.RawMessage             `json:"ref,omitempty"`
	When             json.RawMessage             `json:"when,omitempty"`
}

type tektonStepTemplate struct {
	Image            string                      `json:"image,omitempty"`
	Command          []string                    `json:"command,omitempty"`
	Args             []string                    `json:"args,omitempty"`
	WorkingDir       string                      `json:"workingDir,omitempty"`
	EnvFrom          []corev1.EnvFromSource      `json:"envFrom,omitempty"`
	Env              []corev1.EnvVar             `json:"env,omitempty"`
	ComputeResources corev1.ResourceRequirements `json:"computeResources,omitempty"`
	VolumeMounts     []corev1.VolumeMount        `json:"volumeMounts,omitempty"`
	VolumeDevices    []corev1.VolumeDevice       `json:"volumeDevices,omitempty"`
	ImagePullPolicy  corev1.PullPolicy           `json:"imagePullPolicy,omitempty"`
	SecurityContext  *corev1.SecurityContext     `json:"securityContext,omitempty"`
}

// tektonVar is a $(...) variable reference.
var tektonVar = regexp.MustCompile(`\$\(([^)]*)\)`)

// TestTektonTask decodes deploy/tekton/kiln-build.yaml strictly, checks its
// variables and volumes, that only the push step gets the registry
// credentials, and the pod its steps make against the restricted standard.
func TestTektonTask(t *testing.T) {
	var task tektonTask
	readStrict(t, "tekton/kiln-build.yaml", &task)
	if task.APIVersion != "tekton.dev/v1" || task.Kind != "Task" {
		t.Fatalf("apiVersion %q, kind %q", task.APIVersion, task.Kind)
	}
	s := task.Spec
	known := map[string]bool{}
	for _, p := range s.Params {
		known["params."+p.Name] = true
	}
	for _, w := range s.Workspaces {
		known["workspaces."+w.Name+".path"] = true
	}
	for _, r := range s.Results {
		known["results."+r.Name+".path"] = true
	}
	volumes := map[string]bool{}
	for _, v := range s.Volumes {
		volumes[v.Name] = true
	}
	pod := &corev1.PodSpec{}
	for _, st := range s.Steps {
		fields := append(append([]string{st.Image, st.Script}, st.Command...), st.Args...)
		for _, e := range st.Env {
			fields = append(fields, e.Value)
		}
		for _, f := range fields {
			for _, m := range tektonVar.FindAllStringSubmatch(f, -1) {
				if !known[m[1]] {
					t.Errorf("step %s names $(%s), which the Task does not declare", st.Name, m[1])
				}
			}
		}
		mounts := append(append([]corev1.VolumeMount{}, s.StepTemplate.VolumeMounts...), st.VolumeMounts...)
		for _, m := range mounts {
			if !volumes[m.Name] {
				t.Errorf("step %s mounts volume %s, which the Task does not have", st.Name, m.Name)
			}
		}
		credentials := slices.ContainsFunc(st.Workspaces, func(w tektonWorkspaceUsage) bool { return w.Name == "dockerconfig" }) ||
			slices.ContainsFunc(st.Env, func(e corev1.EnvVar) bool { return e.Name == "DOCKER_CONFIG" })
		if credentials != (st.Name == "push") {
			t.Errorf("step %s: registry credentials %v; only the push step may have them", st.Name, credentials)
		}
		sc := st.SecurityContext
		if sc == nil {
			sc = s.StepTemplate.SecurityContext
		}
		pod.Containers = append(pod.Containers, corev1.Container{Name: st.Name, Image: st.Image, SecurityContext: sc, VolumeMounts: mounts})
		if st.Name == "build" && !strings.Contains(strings.Join(st.Args, " "), "--builder=rootfs:/") {
			t.Errorf("the build step does not build in place: %s", st.Args)
		}
	}
	if len(pod.Containers) != 3 {
		t.Errorf("%d steps, want install, build and push", len(pod.Containers))
	}
	restricted(t, "the Task's pod", &task.Metadata, pod)
}
