package deploy_test

import (
	"maps"
	"net"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookstream/hookstream/internal/config"
	"github.com/hookstream/hookstream/rules"
	"go.yaml.in/yaml/v3"
)

// TestHelmLint runs `helm lint --strict` with the default values and with
// every option switched on.
func TestHelmLint(t *testing.T) {
	for name, args := range map[string][]string{
		"defaults": nil,
		"full":     {"--values", chartFullValues},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, append([]string{"lint", "--strict", chartDir}, args...)...)
			if err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
		})
	}
}

// TestHelmDefaults renders the chart with its default values: three workers
// with the probes, grace period, config and PDB of SPEC §8, and neither
// ServiceMonitor nor ScaledObject.
func TestHelmDefaults(t *testing.T) {
	r := render(t)
	var d kubeDeployment
	r.one(t, "Deployment", &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("Deployment replicas = %v, want 3", d.Spec.Replicas)
	}
	cfg := checkWorkers(t, r, &d)
	if cfg.RulesFile != "" {
		t.Errorf("rules_file = %q by default, want the rules topic", cfg.RulesFile)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || !c.EnvFrom[0].SecretRef.Optional {
		t.Errorf("envFrom = %+v, want one optional secretRef (no Secret is created by default)", c.EnvFrom)
	}
	var b kubePDB
	r.one(t, "PodDisruptionBudget", &b)
	if b.Spec.MaxUnavailable == nil || *b.Spec.MaxUnavailable != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable = %v, want 1", b.Spec.MaxUnavailable)
	}
	for _, kind := range []string{"ServiceMonitor", "ScaledObject", "Secret"} {
		if n := len(r[kind]); n != 0 {
			t.Errorf("defaults render %d %s objects, want none", n, kind)
		}
	}
}

// TestHelmFullValues renders ci/full-values.yaml: rules and secrets wired in,
// a ServiceMonitor, and a KEDA ScaledObject within the partition count.
func TestHelmFullValues(t *testing.T) {
	r := render(t, "--values", chartFullValues)
	var d kubeDeployment
	dm := r.one(t, "Deployment", &d)
	if d.Spec.Replicas != nil {
		t.Errorf("Deployment replicas = %d with autoscaling, want it left to KEDA", *d.Spec.Replicas)
	}
	cfg := checkWorkers(t, r, &d)
	if cfg.ShutdownTimeout != time.Minute || d.Spec.Template.Spec.TerminationGracePeriodSeconds != 75 {
		t.Errorf("shutdown_timeout %s, grace period %ds: want 1m0s and 75s from the values",
			cfg.ShutdownTimeout, d.Spec.Template.Spec.TerminationGracePeriodSeconds)
	}

	// The rules file is in the ConfigMap, where rules_file points.
	var cm kubeConfigMap
	r.one(t, "ConfigMap", &cm)
	mount := configMount(t, &d)
	if dir, file := path.Split(cfg.RulesFile); path.Clean(dir) != mount || cm.Data[file] == "" {
		t.Fatalf("rules_file = %q: want a key of the ConfigMap mounted at %s", cfg.RulesFile, mount)
	}
	actions, err := rules.ParseYAML([]byte(cm.Data[path.Base(cfg.RulesFile)]), "rules.yaml")
	if err != nil {
		t.Fatalf("rendered rules: %v", err)
	}
	if len(actions) != 1 || actions[0].ID != "signups-to-crm" || actions[0].URL != "https://crm.example.com/hooks/{{ userId }}" {
		t.Errorf("rendered rules = %+v, want signups-to-crm with its URL template intact", actions)
	}

	// Secrets: only in the Secret, which the workers get as variables.
	var s kubeSecret
	sm := r.one(t, "Secret", &s)
	if len(s.StringData) != 3 {
		t.Errorf("Secret holds %d keys, want the 3 of the values", len(s.StringData))
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef == nil || c.EnvFrom[0].SecretRef.Name != sm.Name || c.EnvFrom[0].SecretRef.Optional {
		t.Errorf("envFrom = %+v, want the Secret %s, required", c.EnvFrom, sm.Name)
	}
	for kind, objs := range r {
		if kind == "Secret" {
			continue
		}
		for _, o := range objs {
			text := dump(t, o)
			for k, v := range s.StringData {
				if strings.Contains(text, v) {
					t.Errorf("%s %s contains the value of secret %s", kind, o.Name, k)
				}
			}
		}
	}
	if _, ok := d.Spec.Template.Metadata.Annotations["checksum/secret"]; !ok {
		t.Error("no checksum/secret annotation: a changed Secret would not roll the workers")
	}

	var b kubePDB
	r.one(t, "PodDisruptionBudget", &b)
	if b.Spec.MinAvailable == nil || *b.Spec.MinAvailable != 2 || b.Spec.MaxUnavailable != nil {
		t.Errorf("PodDisruptionBudget = %+v, want minAvailable 2 alone", b.Spec)
	}

	var sm2 kubeServiceMonitor
	r.one(t, "ServiceMonitor", &sm2)
	var svc kubeService
	svcm := r.one(t, "Service", &svc)
	if !maps.Equal(sm2.Spec.Selector.MatchLabels, subset(svcm.Labels, sm2.Spec.Selector.MatchLabels)) || len(sm2.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("ServiceMonitor selects %v, which the Service's labels %v do not carry", sm2.Spec.Selector.MatchLabels, svcm.Labels)
	}
	if len(sm2.Spec.Endpoints) != 1 || sm2.Spec.Endpoints[0].Path != "/metrics" || sm2.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name {
		t.Errorf("ServiceMonitor endpoints = %+v, want /metrics on the Service's port %q", sm2.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}

	var so kubeScaledObject
	r.one(t, "ScaledObject", &so)
	const partitions = 12 // autoscaling.partitions in ci/full-values.yaml
	if so.Spec.MaxReplicaCount < 1 || so.Spec.MaxReplicaCount > partitions || so.Spec.MinReplicaCount != 2 {
		t.Errorf("ScaledObject replicas %d..%d, want 2..at most %d", so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount, partitions)
	}
	if so.Spec.ScaleTargetRef.Kind != "Deployment" || so.Spec.ScaleTargetRef.Name != dm.Name {
		t.Errorf("ScaledObject scales %+v, want Deployment %s", so.Spec.ScaleTargetRef, dm.Name)
	}
	if len(so.Spec.Triggers) != len(cfg.Kafka.Topics) {
		t.Fatalf("ScaledObject has %d triggers, want one per source topic %v", len(so.Spec.Triggers), cfg.Kafka.Topics)
	}
	for i, tr := range so.Spec.Triggers {
		md := tr.Metadata
		if tr.Type != "kafka" || md["topic"] != cfg.Kafka.Topics[i] || md["consumerGroup"] != cfg.Kafka.Group ||
			md["bootstrapServers"] != strings.Join(cfg.Kafka.Brokers, ",") || md["lagThreshold"] != "5000" {
			t.Errorf("trigger %d = %s %v: want kafka on topic %s, group %s, brokers %v, lagThreshold 5000",
				i, tr.Type, md, cfg.Kafka.Topics[i], cfg.Kafka.Group, cfg.Kafka.Brokers)
		}
		if tr.AuthenticationRef == nil || tr.AuthenticationRef.Name != "kafka-scram" {
			t.Errorf("trigger %d authenticationRef = %v, want kafka-scram", i, tr.AuthenticationRef)
		}
	}
}

// TestHelmMaxReplicasDefaultsToPartitions: without maxReplicas the
// ScaledObject goes up to the partition count exactly.
func TestHelmMaxReplicasDefaultsToPartitions(t *testing.T) {
	r := render(t, "--set", "autoscaling.enabled=true", "--set", "autoscaling.partitions=6")
	var so kubeScaledObject
	r.one(t, "ScaledObject", &so)
	if so.Spec.MaxReplicaCount != 6 {
		t.Errorf("maxReplicaCount = %d, want the 6 partitions", so.Spec.MaxReplicaCount)
	}
}

// TestHelmRefuses: values that cannot work stop `helm template` (and so
// `helm install`) with a message naming the values.
func TestHelmRefuses(t *testing.T) {
	scaling := []string{"--set", "autoscaling.enabled=true", "--set", "autoscaling.partitions=12"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"more replicas than partitions", append(scaling, "--set", "autoscaling.maxReplicas=13"), "autoscaling.maxReplicas (13) exceeds autoscaling.partitions (12)"},
		{"partitions unknown", []string{"--set", "autoscaling.enabled=true"}, "autoscaling.partitions must be"},
		{"scale to zero", append(scaling, "--set", "autoscaling.minReplicas=0"), "autoscaling.minReplicas must be at least 1"},
		{"min over max", append(scaling, "--set", "autoscaling.minReplicas=8", "--set", "autoscaling.maxReplicas=4"), "autoscaling.minReplicas (8) exceeds maxReplicaCount (4)"},
		{"grace period equal to shutdown", []string{"--set", "terminationGracePeriodSeconds=30"}, "terminationGracePeriodSeconds (30) must be longer than shutdownTimeoutSeconds (30)"},
		{"grace period shorter", []string{"--set", "shutdownTimeoutSeconds=60"}, "terminationGracePeriodSeconds (45) must be longer than shutdownTimeoutSeconds (60)"},
		{"shutdown_timeout in config", []string{"--set", "config.shutdown_timeout=10s"}, "config.shutdown_timeout is set by the chart: use shutdownTimeoutSeconds"},
		{"http in config", []string{"--set", "config.http=0.0.0.0:1"}, "config.http is set by the chart: use httpPort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := helm(t, append([]string{"template", "hs", chartDir}, tc.args...)...)
			if err == nil {
				t.Fatalf("helm template %s succeeded, want it refused", strings.Join(tc.args, " "))
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("helm template %s:\n%s\nwant the message %q", strings.Join(tc.args, " "), out, tc.want)
			}
		})
	}
}

// checkWorkers checks what every rendering must hold and returns the worker
// config from the ConfigMap, loaded and validated as `hookstream run
// --config` does: probes on the port the worker listens on, a grace period
// longer than shutdown_timeout, and a Service and PDB that select the pods.
func checkWorkers(t *testing.T, r rendered, d *kubeDeployment) config.Config {
	t.Helper()
	var cm kubeConfigMap
	cmm := r.one(t, "ConfigMap", &cm)
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("pod has %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	mount := configMount(t, d)
	if cmm.Name == "" || !hasConfigMapVolume(d, cmm.Name) {
		t.Errorf("the pod mounts no volume of ConfigMap %s", cmm.Name)
	}
	file := path.Join(mount, "hookstream.yaml")
	if strings.Join(c.Args, " ") != "run --config "+file || cm.Data["hookstream.yaml"] == "" {
		t.Fatalf("args = %q, want run --config %s, a key of the ConfigMap", c.Args, file)
	}
	cfg := config.Default()
	if err := cfg.LoadYAML(file, []byte(cm.Data["hookstream.yaml"])); err != nil {
		t.Fatalf("the worker refuses the rendered config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the rendered config is invalid: %v", err)
	}

	_, port, _ := net.SplitHostPort(cfg.HTTP)
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if strconv.Itoa(ports["http"]) != port {
		t.Errorf("container port http = %d, worker listens on %s", ports["http"], cfg.HTTP)
	}
	for _, p := range []struct {
		name string
		got  probe
		want string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.got.HTTPGet.Path != p.want || ports[p.got.HTTPGet.Port] == 0 || strconv.Itoa(ports[p.got.HTTPGet.Port]) != port {
			t.Errorf("%s probe = %+v, want GET %s on the worker's port %s", p.name, p.got.HTTPGet, p.want, port)
		}
	}
	grace := time.Duration(pod.TerminationGracePeriodSeconds) * time.Second
	if grace <= cfg.ShutdownTimeout {
		t.Errorf("terminationGracePeriodSeconds %s, want longer than shutdown_timeout %s", grace, cfg.ShutdownTimeout)
	}
	if _, ok := d.Spec.Template.Metadata.Annotations["checksum/config"]; !ok {
		t.Error("no checksum/config annotation: a changed ConfigMap would not roll the workers")
	}

	labels := d.Spec.Template.Metadata.Labels
	if !maps.Equal(d.Spec.Selector.MatchLabels, subset(labels, d.Spec.Selector.MatchLabels)) {
		t.Errorf("Deployment selector %v does not match its pods' labels %v", d.Spec.Selector.MatchLabels, labels)
	}
	var svc kubeService
	r.one(t, "Service", &svc)
	if len(svc.Spec.Selector) == 0 || !maps.Equal(svc.Spec.Selector, subset(labels, svc.Spec.Selector)) {
		t.Errorf("Service selects %v, not the pods %v", svc.Spec.Selector, labels)
	}
	if len(svc.Spec.Ports) != 1 || strconv.Itoa(svc.Spec.Ports[0].Port) != port || ports[svc.Spec.Ports[0].TargetPort] == 0 {
		t.Errorf("Service ports = %+v, want %s onto the container's http port", svc.Spec.Ports, port)
	}
	var b kubePDB
	r.one(t, "PodDisruptionBudget", &b)
	if len(b.Spec.Selector.MatchLabels) == 0 || !maps.Equal(b.Spec.Selector.MatchLabels, subset(labels, b.Spec.Selector.MatchLabels)) {
		t.Errorf("PodDisruptionBudget selects %v, not the pods %v", b.Spec.Selector.MatchLabels, labels)
	}
	return cfg
}

// configMount is where the pod mounts the config volume.
func configMount(t *testing.T, d *kubeDeployment) string {
	t.Helper()
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.Name == "config" {
			return path.Clean(m.MountPath)
		}
	}
	t.Fatal("no config volume mount")
	return ""
}

func hasConfigMapVolume(d *kubeDeployment, name string) bool {
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "config" && v.ConfigMap != nil && v.ConfigMap.Name == name {
			return true
		}
	}
	return false
}

// subset returns the entries of m whose keys are in keys.
func subset(m, keys map[string]string) map[string]string {
	out := map[string]string{}
	for k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// dump is an object's YAML text, for searching.
func dump(t *testing.T, m manifest) string {
	t.Helper()
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	if err := enc.Encode(&m.document); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
