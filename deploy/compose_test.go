package deploy_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

var composeFile = repoPath("docker-compose.yml")

// composeCommand finds docker-compose, or the docker CLI's compose plugin.
func composeCommand() ([]string, error) {
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("docker"); err == nil {
		if exec.Command(p, "compose", "version").Run() == nil {
			return []string{p, "compose"}, nil
		}
	}
	return nil, errors.New("neither docker-compose nor the docker compose plugin is installed")
}

// TestComposeConfig runs `docker-compose config -q`, which validates the file
// against the Compose schema and resolves anchors and variables. CI installs
// docker-compose, so there a missing binary is a failure, not a skip.
func TestComposeConfig(t *testing.T) {
	argv, err := composeCommand()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set: %v (apt-get install docker-compose)", err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	argv = append(argv, "--file", composeFile, "config", "--quiet")
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// The parts of a compose file the structure tests read. The file uses the
// long forms (command and entrypoint as lists, environment and depends_on as
// maps) so that it decodes into these types.
type compose struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image       string            `yaml:"image"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("decode %s: %v", composeFile, err)
	}
	return c
}

// flag returns the value after name in args, or "".
func flag(args []string, name string) string {
	i := slices.Index(args, name)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

// mountSource returns the host path of a bind mount written as
// ./path:/container/path[:mode] and the container path; "" for volumes.
func mountSource(v string) (host, container string) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], ".") {
		return "", ""
	}
	return parts[0], parts[1]
}

// TestComposeWorkers checks the workers form one group, serve metrics to
// the containers' network, wait for Kafka, topics and rules, and have every
// variable the sample rules read.
func TestComposeWorkers(t *testing.T) {
	c := loadCompose(t)
	need := requiredEnv(loadSampleRules(t))
	var workers []string
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if len(s.Command) == 0 || s.Command[0] != "run" {
			continue
		}
		workers = append(workers, name)
		want := map[string]string{"--brokers": "kafka:9092", "--topic": "events", "--group": "hookstream",
			"--http": "0.0.0.0:9464", "--rules-topic": "hookstream.rules", "--dlq-topic": "hookstream.dlq"}
		for f, v := range want {
			if got := flag(s.Command, f); got != v {
				t.Errorf("worker %s: %s %q, want %q", name, f, got, v)
			}
		}
		for dep, cond := range map[string]string{"kafka": "service_healthy",
			"kafka-topics": "service_completed_successfully", "rules": "service_completed_successfully"} {
			if got := s.DependsOn[dep].Condition; got != cond {
				t.Errorf("worker %s: depends_on %s condition %q, want %q", name, dep, got, cond)
			}
		}
		for env, action := range need {
			if s.Environment[env] == "" {
				t.Errorf("worker %s: environment lacks %s, read by action %s", name, env, action)
			}
		}
	}
	if len(workers) < 3 {
		t.Fatalf("want at least 3 workers (services running `hookstream run`), got %q", workers)
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	promFile := repoPath("deploy", "prometheus", "prometheus.yml")
	readYAMLLoose(t, promFile, &prom)
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == "hookstream" {
			for _, st := range sc.StaticConfigs {
				targets = append(targets, st.Targets...)
			}
		}
	}
	var want []string
	for _, w := range workers {
		want = append(want, w+":9464")
	}
	slices.Sort(targets)
	if !slices.Equal(targets, want) {
		t.Errorf("%s: job hookstream scrapes %q, want every worker: %q", promFile, targets, want)
	}
	for _, rf := range prom.RuleFiles {
		if _, err := os.Stat(filepath.Join(filepath.Dir(promFile), rf)); err != nil {
			t.Errorf("%s: rule file %s: %v", promFile, rf, err)
		}
	}
	if !slices.Contains(prom.RuleFiles, "alerts.yml") {
		t.Errorf("%s: rule_files %q does not load alerts.yml", promFile, prom.RuleFiles)
	}
}

// TestComposeKafka checks Kafka runs in KRaft mode with a healthcheck and
// that the set-up service creates hookstream's topics as the SPEC needs.
func TestComposeKafka(t *testing.T) {
	c := loadCompose(t)
	k, ok := c.Services["kafka"]
	if !ok {
		t.Fatal("no kafka service")
	}
	if !strings.HasPrefix(k.Image, "apache/kafka:") {
		t.Errorf("kafka image %q, want the official apache/kafka", k.Image)
	}
	if roles := k.Environment["KAFKA_PROCESS_ROLES"]; !strings.Contains(roles, "broker") || !strings.Contains(roles, "controller") {
		t.Errorf("KAFKA_PROCESS_ROLES %q: want broker,controller (KRaft, no ZooKeeper)", roles)
	}
	if k.Healthcheck == nil || len(k.Healthcheck.Test) == 0 {
		t.Error("kafka has no healthcheck: services cannot wait for it")
	}

	setup, ok := c.Services["kafka-topics"]
	if !ok {
		t.Fatal("no kafka-topics service")
	}
	script := strings.Join(setup.Command, "\n")
	tests := []struct {
		topic string
		want  []string
	}{
		{"events", []string{"--partitions 12"}},
		{"hookstream.dlq", nil},
		{"hookstream.retry", nil},
		{"hookstream.rules", []string{"--partitions 1", "cleanup.policy=compact"}},
	}
	for _, tt := range tests {
		var line string
		for l := range strings.Lines(script) {
			if strings.Contains(l, "--create") && strings.Contains(l, "--topic "+tt.topic+" ") {
				line = l
			}
		}
		if line == "" {
			t.Errorf("kafka-topics does not create topic %s", tt.topic)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(line, w) {
				t.Errorf("topic %s is created without %s: %s", tt.topic, w, line)
			}
		}
	}

	r, ok := c.Services["rules"]
	if !ok {
		t.Fatal("no rules service")
	}
	if len(r.Command) < 2 || r.Command[0] != "rules" || r.Command[1] != "apply" {
		t.Fatalf("rules service runs %q, want `rules apply -f FILE`", r.Command)
	}
	mounted := false
	for _, v := range r.Volumes {
		if host, ctr := mountSource(v); filepath.Clean(host) == "deploy/rules.yaml" && ctr == flag(r.Command, "-f") {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("rules service applies %q, which is not ./deploy/rules.yaml mounted: %q", flag(r.Command, "-f"), r.Volumes)
	}
}

// TestComposeMounts checks every bind-mounted file or folder exists, and that
// Grafana's home dashboard is the provisioned one.
func TestComposeMounts(t *testing.T) {
	c := loadCompose(t)
	for _, name := range sortedKeys(c.Services) {
		for _, v := range c.Services[name].Volumes {
			host, _ := mountSource(v)
			if host == "" {
				continue
			}
			if _, err := os.Stat(repoPath(host)); err != nil {
				t.Errorf("service %s mounts %s: %v", name, host, err)
			}
		}
	}
	g := c.Services["grafana"]
	home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	found := false
	for _, v := range g.Volumes {
		host, ctr := mountSource(v)
		if rel, ok := strings.CutPrefix(home, ctr+"/"); ok && host != "" {
			if _, err := os.Stat(repoPath(host, rel)); err == nil {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("grafana home dashboard %q is not a mounted file", home)
	}
}

// readYAMLLoose decodes a YAML file, ignoring fields v does not name.
func readYAMLLoose(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}
