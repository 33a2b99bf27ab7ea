{{/* Chart name, truncated to 63 characters (a DNS label). */}}
{{- define "eni-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's resources. */}}
{{- define "eni-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "eni-operator.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "eni-operator.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "eni-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eni-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "eni-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "eni-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "eni-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eni-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Lease the replicas elect their leader with. */}}
{{- define "eni-operator.leaseName" -}}
{{- include "eni-operator.fullname" . }}
{{- end }}

{{- define "eni-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* What the operator may do with EniAttachments, Events and (when enabled) Secrets, in a ClusterRole or a Role. */}}
{{- define "eni-operator.resourceRules" -}}
- apiGroups: ["ecm.eni-operator.io"]
  resources: ["eniattachments"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["ecm.eni-operator.io"]
  resources: ["eniattachments/status"]
  verbs: ["update", "patch"]
- apiGroups: ["ecm.eni-operator.io"]
  resources: ["eniattachments/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.perResourceCredentials.enabled }}
# get: read one named Secret; patch: its finalizer, held while resources name it. Never list or watch.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "patch"]
{{- end }}
{{- end }}

{{/* Flags the operator and the uninstall hook share: what to watch, ECM, credentials. */}}
{{- define "eni-operator.commonArgs" -}}
{{- if .Values.watchNamespaces }}
- --watch-namespace={{ join "," .Values.watchNamespaces }}
{{- end }}
- --ecm-endpoint={{ .Values.ecm.endpoint }}
- --sts-endpoint={{ .Values.sts.endpoint }}
- --ecm-qps={{ .Values.ecm.qps }}
- --ecm-burst={{ .Values.ecm.burst }}
- --max-concurrent-reconciles={{ .Values.maxConcurrentReconciles }}
- --sync-period={{ .Values.syncPeriod }}
- --per-resource-credentials={{ .Values.perResourceCredentials.enabled }}
{{- if .Values.credentials.allowedNamespaces }}
- --operator-credentials-namespaces={{ join "," .Values.credentials.allowedNamespaces }}
{{- end }}
{{- if .Values.credentials.existingSecret }}
- --credentials-dir={{ include "eni-operator.credentialsDir" . }}
{{- end }}
- --log-level={{ .Values.logLevel }}
{{- end }}

{{/* The operator's flags, from the values. */}}
{{- define "eni-operator.args" -}}
- --metrics-bind-address={{ if .Values.metrics.enabled }}:{{ .Values.metrics.port }}{{ else }}0{{ end }}
{{- if and .Values.metrics.enabled .Values.metrics.secure }}
- --metrics-secure=true
{{- end }}
- --health-probe-bind-address=:{{ .Values.healthProbe.port }}
- --leader-elect={{ .Values.leaderElection.enabled }}
- --leader-election-namespace={{ .Release.Namespace }}
- --leader-election-id={{ include "eni-operator.leaseName" . }}
{{ include "eni-operator.commonArgs" . | trim }}
{{- end }}

{{/* Where the operator's credentials Secret is mounted; the kubelet replaces its files in place. */}}
{{- define "eni-operator.credentialsDir" -}}
/var/run/secrets/eni-operator/credentials
{{- end }}

{{/* Volumes for the operator's own credentials: the Secret's files, the TKE token, and the user's. */}}
{{- define "eni-operator.volumes" -}}
{{- with .Values.credentials.existingSecret }}
- name: credentials
  secret:
    secretName: {{ . | quote }}
{{- end }}
{{- if .Values.credentials.tkePodIdentity.enabled }}
- name: tke-token
  projected:
    sources:
      - serviceAccountToken:
          audience: {{ .Values.credentials.tkePodIdentity.audience | quote }}
          expirationSeconds: 86400
          path: token
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "eni-operator.volumeMounts" -}}
{{- if .Values.credentials.existingSecret }}
- name: credentials
  mountPath: {{ include "eni-operator.credentialsDir" . }}
  readOnly: true
{{- end }}
{{- if .Values.credentials.tkePodIdentity.enabled }}
- name: tke-token
  mountPath: /var/run/secrets/tke/serviceaccount
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The operator's own credentials from TKE pod identity (a Secret's come as files, see volumes). */}}
{{- define "eni-operator.credentialsEnv" -}}
{{- with .Values.credentials.tkePodIdentity }}
{{- if .enabled }}
- name: TKE_ROLE_ARN
  value: {{ .roleArn | quote }}
- name: TKE_REGION
  value: {{ .region | quote }}
- name: TKE_PROVIDER_ID
  value: {{ .providerId | quote }}
- name: TKE_WEB_IDENTITY_TOKEN_FILE
  value: /var/run/secrets/tke/serviceaccount/token
{{- end }}
{{- end }}
{{- end }}

{{/* Annotations of the operator's ServiceAccount, and of the uninstall hook's: the same cloud identity. */}}
{{- define "eni-operator.serviceAccountAnnotations" -}}
{{- $annotations := deepCopy .Values.serviceAccount.annotations }}
{{- if and .Values.credentials.tkePodIdentity.enabled .Values.credentials.tkePodIdentity.roleArn }}
{{- $annotations = merge (dict "tke.cloud.tencent.com/role-arn" .Values.credentials.tkePodIdentity.roleArn) $annotations }}
{{- end }}
{{- with $annotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* Scheduling shared by the operator's pods and the uninstall hook's. */}}
{{- define "eni-operator.scheduling" -}}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The pods' affinity: the user's, or anti-affinity by hostname so that one node drain cannot take every replica. */}}
{{- define "eni-operator.affinity" -}}
{{- if .Values.affinity }}
{{- toYaml .Values.affinity }}
{{- else if and (gt (int .Values.replicaCount) 1) (ne .Values.podAntiAffinity "none") }}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "eni-operator.selectorLabels" . | fromYaml)) }}
podAntiAffinity:
{{- if eq .Values.podAntiAffinity "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    {{- toYaml (list $term) | nindent 4 }}
{{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        {{- toYaml $term | nindent 8 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Refuses values that would render a broken or unsafe install, naming the value. The schema checks types
and ranges; these checks span several values.
*/}}
{{- define "eni-operator.validate" -}}
{{- $several := gt (int .Values.replicaCount) 1 }}
{{- if and $several (not .Values.leaderElection.enabled) }}
{{- fail "replicaCount > 1 needs leaderElection.enabled: without it every replica would reconcile" }}
{{- end }}
{{- range .Values.extraArgs }}
{{- if and $several (regexMatch "^--leader-elect=false$" .) }}
{{- fail (printf "extraArgs: %s with replicaCount > 1 would let every replica reconcile; set leaderElection.enabled instead" .) }}
{{- end }}
{{- if regexMatch "^--(health-probe-bind-address|metrics-bind-address|metrics-secure|leader-election-(id|namespace))(=|$)" . }}
{{- fail (printf "extraArgs: %s is set from the chart's values (healthProbe.port, metrics.*, leaderElection.*): set it there, so the probes, ports and RBAC follow" .) }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) (int .Values.healthProbe.port)) }}
{{- fail "metrics.port and healthProbe.port must differ" }}
{{- end }}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled (not $several) (ne (toString $pdb.minAvailable) "") (ne (toString $pdb.minAvailable) "0") (ne (toString $pdb.minAvailable) "0%") }}
{{- fail "podDisruptionBudget.minAvailable with replicaCount 1 would block every node drain: raise replicaCount or set podDisruptionBudget.enabled=false" }}
{{- end }}
{{- if and .Values.prometheusRule.enabled (not .Values.metrics.enabled) }}
{{- fail "prometheusRule.enabled needs metrics.enabled: the alerts read the operator's metrics" }}
{{- end }}
{{- if and .Values.prometheusRule.enabled (not (or .Values.metrics.serviceMonitor.enabled .Values.metrics.podAnnotations .Values.prometheusRule.job)) }}
{{- fail "prometheusRule.enabled needs a scrape method whose job the alerts can match: metrics.serviceMonitor.enabled, metrics.podAnnotations, or prometheusRule.job naming your own" }}
{{- end }}
{{- if and .Values.metrics.podAnnotations .Values.metrics.secure }}
{{- fail "metrics.podAnnotations cannot describe metrics.secure (HTTPS with a bearer token): use metrics.serviceMonitor" }}
{{- end }}
{{- end }}

{{/* The operator's ServiceAccount, as the subject of its bindings. */}}
{{- define "eni-operator.subjects" -}}
- kind: ServiceAccount
  name: {{ include "eni-operator.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}
