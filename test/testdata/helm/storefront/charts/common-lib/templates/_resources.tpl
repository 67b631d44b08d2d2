{{/*
common-lib.resources renders the given resources, or the library's defaults when empty.
*/}}
{{- define "common-lib.resources" -}}
{{- if .resources -}}
{{- toYaml .resources -}}
{{- else -}}
requests:
  cpu: 100m
  memory: 128Mi
{{- end -}}
{{- end -}}
