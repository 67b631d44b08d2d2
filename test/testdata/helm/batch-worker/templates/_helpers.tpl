{{- define "batch-worker.name" -}}{{ .Release.Name }}-batch{{- end -}}

{{- define "batch-worker.cronJobAPIVersion" -}}
{{- if semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version -}}batch/v1{{- else -}}batch/v1beta1{{- end -}}
{{- end -}}

{{- define "batch-worker.image" -}}
{{- printf "%s:%s" (required "image.repository is required" .Values.image.repository) (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
