{{- /*
Shared definitions of the v1.5.0 catalog. Each addon directory's *.yaml templates see
these; dot is the render's values (Namespace, Addon, Cluster, P, Image, Resources, ...).
*/ -}}

{{- /* controlPlaneAffinity and controlPlaneTolerations place a pod on the control-plane
nodes: components that kube-scheduler reaches at a host address (its extenders) must run
where kube-scheduler runs. Both the current and the pre-1.24 role label and taint are
accepted; TKEStack's 1.16-1.18 masters carry the old ones. For a pod spec at 6 spaces;
the affinity ends inside affinity:, so a caller may add podAntiAffinity after it. */ -}}
{{- define "controlPlaneAffinity" }}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: node-role.kubernetes.io/control-plane, operator: Exists}
            - matchExpressions:
              - {key: node-role.kubernetes.io/master, operator: Exists}
{{- end }}
{{- define "controlPlaneTolerations" }}
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      - {key: node-role.kubernetes.io/master, operator: Exists, effect: NoSchedule}
{{- end }}

{{- /* crdPrune keeps a CRD when its addon is removed: deleting a CRD deletes every object
of its kind in the cluster (see AnnotationPrune). */ -}}
{{- define "crdPrune" }}
  annotations:
    gitfleet.dev/prune: disabled
{{- end }}
