package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	chartDir        = repoPath("deploy", "helm", "hookstream")
	chartFullValues = repoPath("deploy", "helm", "hookstream", "ci", "full-values.yaml")
)

// helmBinary finds helm. .ci/run installs it, so where CI is set a missing
// binary is a failure, not a skip.
func helmBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("helm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set: %v (.ci/run installs helm)", err)
		}
		t.Skip("helm is not installed")
	}
	return p
}

// helm runs the helm binary with args and returns its combined output.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	// Keep helm away from the user's repositories, caches and kube config.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home,
		"HELM_DATA_HOME="+home, "KUBECONFIG="+home+"/none")
	return cmd.CombinedOutput()
}

// manifest is one rendered Kubernetes object: its kind and name, and the
// whole document for decoding into the types below.
type manifest struct {
	Kind     string
	Name     string
	Labels   map[string]string
	document yaml.Node
}

// rendered is the output of `helm template`, by kind.
type rendered map[string][]manifest

// render runs `helm template` on the chart with the values files and --set
// arguments given.
func render(t *testing.T, args ...string) rendered {
	t.Helper()
	out, err := helm(t, append([]string{"template", "hs", chartDir}, args...)...)
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	objs := rendered{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("helm template output is not YAML: %v", err)
		}
		var head struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name   string            `yaml:"name"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
		}
		if err := doc.Decode(&head); err != nil {
			t.Fatalf("rendered object: %v", err)
		}
		if head.Kind == "" { // an empty document
			continue
		}
		objs[head.Kind] = append(objs[head.Kind], manifest{head.Kind, head.Metadata.Name, head.Metadata.Labels, doc})
	}
	return objs
}

// one returns the only object of kind, decoded into v.
func (r rendered) one(t *testing.T, kind string, v any) manifest {
	t.Helper()
	if n := len(r[kind]); n != 1 {
		t.Fatalf("rendered %d objects of kind %s, want 1", n, kind)
	}
	m := r[kind][0]
	if err := m.document.Decode(v); err != nil {
		t.Fatalf("%s %s: %v", kind, m.Name, err)
	}
	return m
}

// The parts of the rendered objects the tests read.

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type kubeDeployment struct {
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					Image string   `yaml:"image"`
					Args  []string `yaml:"args"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					Env []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					EnvFrom []struct {
						SecretRef *struct {
							Name     string `yaml:"name"`
							Optional bool   `yaml:"optional"`
						} `yaml:"secretRef"`
					} `yaml:"envFrom"`
					LivenessProbe  probe `yaml:"livenessProbe"`
					ReadinessProbe probe `yaml:"readinessProbe"`
					VolumeMounts   []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type kubeConfigMap struct {
	Data map[string]string `yaml:"data"`
}

type kubeSecret struct {
	StringData map[string]string `yaml:"stringData"`
}

type kubeService struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type kubePDB struct {
	Spec struct {
		MaxUnavailable *int `yaml:"maxUnavailable"`
		MinAvailable   *int `yaml:"minAvailable"`
		Selector       struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
	} `yaml:"spec"`
}

type kubeServiceMonitor struct {
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type kubeScaledObject struct {
	Spec struct {
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicaCount int `yaml:"minReplicaCount"`
		MaxReplicaCount int `yaml:"maxReplicaCount"`
		Triggers        []struct {
			Type              string            `yaml:"type"`
			Metadata          map[string]string `yaml:"metadata"`
			AuthenticationRef *struct {
				Name string `yaml:"name"`
			} `yaml:"authenticationRef"`
		} `yaml:"triggers"`
	} `yaml:"spec"`
}
