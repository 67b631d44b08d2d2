{{/*
common-lib.image renders registry/repository:tag from an image map; the registry comes from
global.imageRegistry when set, the tag defaults to the chart's appVersion.
Call: include "common-lib.image" (dict "image" .Values.image "context" $)
*/}}
{{- define "common-lib.image" -}}
{{- $repo := required "image.repository is required" .image.repository -}}
{{- $tag := .image.tag | default .context.Chart.AppVersion | toString -}}
{{- with .context.Values.global }}{{ with .imageRegistry }}{{ . }}/{{ end }}{{ end -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
