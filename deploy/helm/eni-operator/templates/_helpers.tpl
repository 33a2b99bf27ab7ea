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
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}
{{- end }}

{{/* The operator's flags, from the values. */}}
{{- define "eni-operator.args" -}}
- --metrics-bind-address={{ if .Values.metrics.enabled }}:{{ .Values.metrics.port }}{{ else }}0{{ end }}
{{- if and .Values.metrics.enabled .Values.metrics.secure }}
- --metrics-secure=true
{{- end }}
- --health-probe-bind-address=:8081
- --leader-elect={{ .Values.leaderElection.enabled }}
- --leader-election-namespace={{ .Release.Namespace }}
- --leader-election-id={{ include "eni-operator.leaseName" . }}
{{- if .Values.watchNamespaces }}
- --watch-namespace={{ join "," .Values.watchNamespaces }}
{{- end }}
- --ecm-endpoint={{ .Values.ecm.endpoint }}
- --ecm-qps={{ .Values.ecm.qps }}
- --ecm-burst={{ .Values.ecm.burst }}
- --max-concurrent-reconciles={{ .Values.maxConcurrentReconciles }}
- --sync-period={{ .Values.syncPeriod }}
- --per-resource-credentials={{ .Values.perResourceCredentials.enabled }}
- --log-level={{ .Values.logLevel }}
{{- end }}

{{/* The operator's own credentials: a Secret's keys, or TKE pod identity. */}}
{{- define "eni-operator.credentialsEnv" -}}
{{- with .Values.credentials.existingSecret }}
- name: TENCENTCLOUD_SECRET_ID
  valueFrom:
    secretKeyRef: { name: {{ . | quote }}, key: secretId }
- name: TENCENTCLOUD_SECRET_KEY
  valueFrom:
    secretKeyRef: { name: {{ . | quote }}, key: secretKey }
- name: TENCENTCLOUD_SESSION_TOKEN
  valueFrom:
    secretKeyRef: { name: {{ . | quote }}, key: token, optional: true }
{{- end }}
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

{{/* The operator's ServiceAccount, as the subject of its bindings. */}}
{{- define "eni-operator.subjects" -}}
- kind: ServiceAccount
  name: {{ include "eni-operator.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end }}
