{{/* Labels every object carries. */}}
{{- define "portager.labels" -}}
app.kubernetes.io/part-of: portager
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The image of a component ("apiserver" or "controller"). */}}
{{- define "portager.image" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $repo := printf "%s/portager-%s" $root.Values.image.registry $component -}}
{{- $digest := index $root.Values.image.digest $component -}}
{{- if $digest -}}
{{ $repo }}@{{ $digest }}
{{- else -}}
{{ $repo }}:{{ $root.Values.image.tag | default $root.Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/* The restricted Pod Security standard, for every pod. */}}
{{- define "portager.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "portager.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
GOMEMLIMIT for a memory limit in Mi or Gi: 90% of it, so the Go runtime
collects harder before the kernel would kill the container.
*/}}
{{- define "portager.gomemlimit" -}}
{{- $m := toString . -}}
{{- if hasSuffix "Gi" $m -}}
{{ div (mul (trimSuffix "Gi" $m | atoi) 9216) 10 }}MiB
{{- else if hasSuffix "Mi" $m -}}
{{ div (mul (trimSuffix "Mi" $m | atoi) 9) 10 }}MiB
{{- else -}}
{{ fail (printf "memory limit %q must be in Mi or Gi" $m) }}
{{- end -}}
{{- end }}

{{/* The etcd members' peer names, in order. */}}
{{- define "portager.etcdMembers" -}}
{{- $ns := .Release.Namespace -}}
{{- range $i := until (int .Values.etcd.replicas) -}}
{{ if $i }},{{ end }}portager-etcd-{{ $i }}=https://portager-etcd-{{ $i }}.portager-etcd.{{ $ns }}.svc:2380
{{- end -}}
{{- end }}

{{/* The etcd client URLs the API server uses. */}}
{{- define "portager.etcdServers" -}}
{{- if .Values.etcd.external.enabled -}}
{{ join "," .Values.etcd.external.endpoints }}
{{- else -}}
{{- $ns := .Release.Namespace -}}
{{- range $i := until (int .Values.etcd.replicas) -}}
{{ if $i }},{{ end }}https://portager-etcd-{{ $i }}.portager-etcd.{{ $ns }}.svc:2379
{{- end -}}
{{- end -}}
{{- end }}

{{/* The Secret with the etcd client certificate of the API server. */}}
{{- define "portager.etcdClientSecret" -}}
{{- if .Values.etcd.external.enabled -}}
{{ required "etcd.external.clientSecret is required with etcd.external.enabled" .Values.etcd.external.clientSecret }}
{{- else -}}
portager-etcd-client
{{- end -}}
{{- end }}

{{/*
The APIService. Its caBundle is the CA of the API server's serving
certificate: given with generated certificates, injected by cert-manager's
CA injector otherwise.
*/}}
{{- define "portager.apiservice" -}}
{{- $root := index . 0 -}}
{{- $caBundle := index . 1 -}}
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1alpha1.portager.portager.io
  labels:
    {{- include "portager.labels" $root | nindent 4 }}
  {{- if $root.Values.certManager.enabled }}
  annotations:
    cert-manager.io/inject-ca-from: {{ $root.Release.Namespace }}/portager-apiserver
  {{- end }}
spec:
  group: portager.portager.io
  version: v1alpha1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service:
    name: portager-apiserver
    namespace: {{ $root.Release.Namespace }}
    port: 443
  {{- if $caBundle }}
  caBundle: {{ $caBundle | b64enc }}
  {{- end }}
{{- end }}
