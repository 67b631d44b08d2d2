package install

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Name is the name of every install object (the Namespace aside).
const Name = "gitfleet"

// Ports of serve in the Deployment (serve's defaults, written out as flags so that the
// probes and the Service cannot drift from them).
const (
	MetricsPort = 8080
	ProbePort   = 8081
	WebhookPort = 9292
)

// Secrets and mounts the Deployment reads. The operator creates the Secrets; their values
// never pass through gitfleet install.
const (
	// ClustersSecret holds key kubeconfig: one context per member cluster.
	ClustersSecret = "gitfleet-clusters"
	// GitSecret holds the fleet repository's credentials: identity and known_hosts for
	// SSH, token for HTTPS.
	GitSecret = "gitfleet-git"
	// WebhookSecret holds key secret, which push webhooks are signed with.
	WebhookSecret = "gitfleet-webhook"
	// MachinesKnownHosts is the ConfigMap (key known_hosts) of the machines' host keys.
	MachinesKnownHosts = "gitfleet-machines-known-hosts"

	cacheDir = "/var/cache/gitfleet"
	gitDir   = "/etc/gitfleet/git"
	kubeDir  = "/etc/gitfleet/clusters"
	machDir  = "/etc/gitfleet/machines"
)

// runAs is the non-root user of the image (its /etc/passwd names it gitfleet).
const runAs int64 = 65532

// Objects returns the install objects in the order they apply: Namespace (unless
// o.AsApp), ServiceAccount, Role, RoleBinding, Service, Deployment. An invalid option is an
// *OptionError.
func Objects(o Options) ([]*unstructured.Unstructured, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var typed []runtime.Object
	if !o.AsApp {
		typed = append(typed, &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: labels(o)}})
	}
	typed = append(typed,
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(o)},
		role(o),
		&rbacv1.RoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
			ObjectMeta: meta(o),
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: o.Namespace}},
		},
		service(o),
		deployment(o),
	)
	out := make([]*unstructured.Unstructured, 0, len(typed))
	for _, t := range typed {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(t)
		if err != nil {
			return nil, fmt.Errorf("install: converting %T: %w", t, err)
		}
		// A typed object always has these, empty; applied they would claim fields that
		// the API server owns.
		delete(m, "status")
		unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(m, "spec", "template", "metadata", "creationTimestamp")
		// Empty structs of the typed API (a Namespace's spec, a Deployment's strategy)
		// say nothing; applied, they would only claim fields.
		for _, f := range [][]string{{"spec"}, {"spec", "strategy"}} {
			if v, ok, _ := unstructured.NestedMap(m, f...); ok && len(v) == 0 {
				unstructured.RemoveNestedField(m, f...)
			}
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func labels(o Options) map[string]string {
	l := map[string]string{"app.kubernetes.io/name": Name, "app.kubernetes.io/part-of": Name}
	if o.Version != "" {
		l["app.kubernetes.io/version"] = o.Version
	}
	return l
}

func meta(o Options) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: Name, Namespace: o.Namespace, Labels: labels(o)}
}

// selector is what the Service and the Deployment select pods by: the name only, since a
// version label in a selector could never change.
var selector = map[string]string{"app.kubernetes.io/name": Name}

// role grants what serve does in its own namespace, and nothing else (see the package
// documentation).
func role(o Options) *rbacv1.Role {
	return &rbacv1.Role{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "Role"),
		ObjectMeta: meta(o),
		Rules: []rbacv1.PolicyRule{
			// A create cannot be limited by name: the API server does not know the name
			// of an object to be created when it authorizes the request.
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{o.LeaderElectionID}, Verbs: []string{"get", "update"}},
			{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
			// get only: serve reads each Secret a fleet file names, by name, when it
			// needs it; it never lists or watches them.
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		},
	}
}

func service(o Options) *corev1.Service {
	ports := []corev1.ServicePort{{Name: "metrics", Port: MetricsPort, TargetPort: intstr.FromString("metrics")}}
	if o.Webhooks {
		ports = append(ports, corev1.ServicePort{Name: "webhooks", Port: 80, TargetPort: intstr.FromString("webhooks")})
	}
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: meta(o),
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: ports},
	}
}

// serveArgs are the Deployment's command line; each flag is serve's own.
func serveArgs(o Options) ([]string, []corev1.EnvVar) {
	args := []string{
		"serve",
		"--repo-url=" + o.RepoURL,
		"--branch=" + o.Branch,
		"--kubeconfig=" + kubeDir + "/kubeconfig",
		"--leader-election-namespace=" + o.Namespace,
		"--cache-dir=" + cacheDir,
		fmt.Sprintf("--metrics-bind-address=:%d", MetricsPort),
		fmt.Sprintf("--health-probe-bind-address=:%d", ProbePort),
	}
	var env []corev1.EnvVar
	switch {
	case strings.HasPrefix(o.RepoURL, "https://"):
		args = append(args, "--git-token-env=GITFLEET_GIT_TOKEN")
		env = append(env, secretEnv("GITFLEET_GIT_TOKEN", GitSecret, "token"))
	case strings.HasPrefix(o.RepoURL, "ssh://") || !strings.Contains(o.RepoURL, "://"):
		args = append(args, "--git-ssh-key="+gitDir+"/identity", "--git-known-hosts="+gitDir+"/known_hosts")
	}
	if o.Webhooks {
		args = append(args, fmt.Sprintf("--webhook-bind-address=:%d", WebhookPort), "--webhook-secret-env=GITFLEET_WEBHOOK_SECRET")
		env = append(env, secretEnv("GITFLEET_WEBHOOK_SECRET", WebhookSecret, "secret"))
	} else {
		args = append(args, "--webhook-bind-address=0")
	}
	if o.Machines {
		args = append(args, "--machines-known-hosts="+machDir+"/known_hosts")
	}
	names := make([]string, 0, len(o.NodePluginImages))
	for name := range o.NodePluginImages {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "--node-plugin-image="+name+"="+o.NodePluginImages[name])
	}
	return args, env
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
}

func deployment(o Options) *appsv1.Deployment {
	args, env := serveArgs(o)
	ports := []corev1.ContainerPort{{Name: "metrics", ContainerPort: MetricsPort}, {Name: "probes", ContainerPort: ProbePort}}
	if o.Webhooks {
		ports = append(ports, corev1.ContainerPort{Name: "webhooks", ContainerPort: WebhookPort})
	}
	yes, no := true, false
	user := runAs
	grace := int64(60) // an apply in progress gets to finish (serve's shutdown timeout is 30s)
	replicas := o.Replicas
	podLabels := labels(o)
	gitOptional := !strings.HasPrefix(o.RepoURL, "ssh://") && strings.Contains(o.RepoURL, "://")
	mounts := []corev1.VolumeMount{
		{Name: "git", MountPath: gitDir, ReadOnly: true},
		{Name: "clusters", MountPath: kubeDir, ReadOnly: true},
		{Name: "cache", MountPath: cacheDir},
		{Name: "tmp", MountPath: "/tmp"},
	}
	volumes := []corev1.Volume{
		{Name: "git", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: GitSecret, Optional: &gitOptional}}},
		{Name: "clusters", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: ClustersSecret}}},
		{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if o.Machines {
		mounts = append(mounts, corev1.VolumeMount{Name: "machines", MountPath: machDir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "machines", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: MachinesKnownHosts}}}})
	}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: meta(o),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: map[string]string{
					"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(MetricsPort),
				}},
				Spec: corev1.PodSpec{
					ServiceAccountName:            Name,
					TerminationGracePeriodSeconds: &grace,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: &yes, RunAsUser: &user, RunAsGroup: &user, FSGroup: &user,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					// Replicas on different nodes, so that one node's loss leaves a leader.
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway,
						LabelSelector: &metav1.LabelSelector{MatchLabels: selector},
					}},
					Containers: []corev1.Container{{
						Name:  Name,
						Image: o.Image,
						Args:  args,
						Env:   env,
						Ports: ports,
						// Ready only while leader: the Service sends webhooks to the leader.
						ReadinessProbe: &corev1.Probe{ProbeHandler: httpGet("/readyz"), PeriodSeconds: 5},
						LivenessProbe:  &corev1.Probe{ProbeHandler: httpGet("/healthz"), PeriodSeconds: 10, FailureThreshold: 3},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
							// Memory is capped (Helm renders run in child processes with their
							// own cap); CPU is not, so that a large render is slow, not killed.
							Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
						},
						SecurityContext: &corev1.SecurityContext{
							ReadOnlyRootFilesystem: &yes, AllowPrivilegeEscalation: &no,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
}

func httpGet(path string) corev1.ProbeHandler {
	return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("probes")}}
}
