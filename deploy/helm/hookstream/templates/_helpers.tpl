{{/* The chart's name, shortened to the 63 characters a label allows. */}}
{{- define "hookstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the prefix of every object's name. */}}
{{- define "hookstream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select the workers' pods. */}}
{{- define "hookstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "hookstream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hookstream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "hookstream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hookstream.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hookstream.secretName" -}}
{{- default (include "hookstream.fullname" .) .Values.secret.name }}
{{- end }}

{{/*
The config file the workers read: .Values.config with the keys the chart
owns. It fails on values that cannot work together, so a bad install stops
at `helm install` instead of in a crash loop.
*/}}
{{- define "hookstream.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- range $key := list "http" "shutdown_timeout" }}
{{- if hasKey $cfg $key }}
{{- fail (printf "config.%s is set by the chart: use %s instead" $key (ternary "httpPort" "shutdownTimeoutSeconds" (eq $key "http"))) }}
{{- end }}
{{- end }}
{{- if and .Values.rules (hasKey $cfg "rules_file") }}
{{- fail "config.rules_file and rules are both set: rules are written to the ConfigMap and the chart points rules_file at them" }}
{{- end }}
{{- if le (int .Values.shutdownTimeoutSeconds) 0 }}
{{- fail "shutdownTimeoutSeconds must be positive" }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.shutdownTimeoutSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be longer than shutdownTimeoutSeconds (%d): Kubernetes kills a worker after the grace period, before it has delivered and committed what it holds" (int .Values.terminationGracePeriodSeconds) (int .Values.shutdownTimeoutSeconds)) }}
{{- end }}
{{- $_ := set $cfg "http" (printf "0.0.0.0:%d" (int .Values.httpPort)) }}
{{- $_ := set $cfg "shutdown_timeout" (printf "%ds" (int .Values.shutdownTimeoutSeconds)) }}
{{- if .Values.rules }}
{{- $_ := set $cfg "rules_file" "/etc/hookstream/rules.yaml" }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* The Kafka section of the config, with hookstream's defaults for what it leaves out. */}}
{{- define "hookstream.kafka" -}}
{{- $kafka := (.Values.config | default dict).kafka | default dict }}
{{- toYaml (dict
  "brokers" ($kafka.brokers | default (list "127.0.0.1:9092"))
  "topics" ($kafka.topics | default (list "events"))
  "group" ($kafka.group | default "hookstream")) }}
{{- end }}

{{/*
The ScaledObject's maxReplicaCount: autoscaling.maxReplicas, or the
partition count when it is 0. A worker beyond the partition count would own
no partition, so a larger value is refused.
*/}}
{{- define "hookstream.maxReplicas" -}}
{{- $a := .Values.autoscaling }}
{{- $partitions := int $a.partitions }}
{{- if le $partitions 0 }}
{{- fail "autoscaling.partitions must be the source topic's partition count (their sum with several topics): maxReplicaCount may never exceed it" }}
{{- end }}
{{- $max := int $a.maxReplicas | default $partitions }}
{{- if gt $max $partitions }}
{{- fail (printf "autoscaling.maxReplicas (%d) exceeds autoscaling.partitions (%d): a worker beyond the partition count owns no partition" $max $partitions) }}
{{- end }}
{{- if lt (int $a.minReplicas) 1 }}
{{- fail "autoscaling.minReplicas must be at least 1: a worker also delivers what waits on the retry topic" }}
{{- end }}
{{- if gt (int $a.minReplicas) $max }}
{{- fail (printf "autoscaling.minReplicas (%d) exceeds maxReplicaCount (%d)" (int $a.minReplicas) $max) }}
{{- end }}
{{- $max }}
{{- end }}
