{{/* The chart name, overridable. */}}
{{- define "flowfence.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name of the release's objects. */}}
{{- define "flowfence.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "flowfence.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "flowfence.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels the Service and the Deployment select the pod by. */}}
{{- define "flowfence.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowfence.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The ServiceAccount's name. */}}
{{- define "flowfence.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flowfence.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The PersistentVolumeClaim's name. */}}
{{- define "flowfence.claimName" -}}
{{- default (include "flowfence.fullname" .) .Values.persistence.existingClaim -}}
{{- end -}}

{{/* The --from URL of the source. */}}
{{- define "flowfence.from" -}}
{{- if eq .Values.source.kind "goldmane" -}}
goldmane://{{ .Values.source.goldmane.address }}
{{- else if .Values.tls.enabled -}}
hubble+tls://{{ .Values.source.hubble.address }}
{{- else -}}
hubble://{{ .Values.source.hubble.address }}
{{- end -}}
{{- end -}}
