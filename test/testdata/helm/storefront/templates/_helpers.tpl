{{/* Names and labels come from the shared library chart. */}}
{{- define "storefront.fullname" -}}{{ include "common-lib.fullname" . }}{{- end -}}
{{- define "storefront.labels" -}}{{ include "common-lib.labels" . }}{{- end -}}
{{- define "storefront.selectorLabels" -}}{{ include "common-lib.selectorLabels" . }}{{- end -}}

{{- define "storefront.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "storefront.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The cache's address: the aliased subchart's service, with what it exports. */}}
{{- define "storefront.redisURL" -}}
{{- printf "redis://%s-cache.%s.svc:%v/%v" .Release.Name .Release.Namespace .Values.cacheConnection.port .Values.cacheConnection.database -}}
{{- end -}}

{{- define "storefront.pdbAPIVersion" -}}
{{- if semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end -}}

{{- define "storefront.hpaAPIVersion" -}}
{{- if .Capabilities.APIVersions.Has "autoscaling/v2" -}}
autoscaling/v2
{{- else -}}
autoscaling/v2beta2
{{- end -}}
{{- end -}}
