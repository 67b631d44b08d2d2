package addons

import (
	"context"
	"strings"
	"testing"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gitfleet.dev/gitfleet/schema"
	"gitfleet.dev/gitfleet/test/harness"
)

// TestRenderAcceptedByAPIServer sends every case's render to a real kube-apiserver: the
// CRDs and Namespaces are created (a CRD must be established before its objects can be
// checked), then every object is created and server-side applied as a dry run, so that
// the API server's defaulting, validation and admission judge each one without
// anything being stored. Admission webhooks are dry runs too, so LBCF's do not stand in
// the way of its LoadBalancerDriver.
func TestRenderAcceptedByAPIServer(t *testing.T) {
	env := harness.StartT(t, harness.Options{Clusters: []string{"a"}})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Cluster("a").RESTConfig(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, tc := range cases {
		t.Run(tc.label(), func(t *testing.T) {
			objs := renderCase(t, tc)
			for _, u := range objs {
				if kind := u.GetKind(); kind != "CustomResourceDefinition" && kind != "Namespace" {
					continue
				}
				if err := c.Create(ctx, u.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatalf("create %s: %v", id(u), err)
				}
				if u.GetKind() == "CustomResourceDefinition" {
					waitEstablished(ctx, t, c, u.GetName())
				}
			}
			for _, u := range objs {
				if err := c.Create(ctx, u.DeepCopy(), client.DryRunAll); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Errorf("dry-run create %s: %v", id(u), err)
				}
				apply := client.ApplyConfigurationFromUnstructured(u.DeepCopy())
				if err := c.Apply(ctx, apply, client.DryRunAll, client.FieldOwner("gitfleet"), client.ForceOwnership); err != nil {
					t.Errorf("dry-run server-side apply %s: %v", id(u), err)
				}
			}
			// The seed's own objects of the addon's kinds are accepted by its CRDs, and
			// what the seed's types rule out is refused.
			if tc.name != "" {
				return // the examples need checking once per type
			}
			for _, doc := range seedExamples[tc.typ] {
				u := mustDecode(t, doc)
				if err := c.Create(ctx, u, client.DryRunAll); err != nil {
					t.Errorf("the seed's %s is refused: %v", id(u), err)
				}
			}
			for _, doc := range refused[tc.typ] {
				u := mustDecode(t, doc)
				if err := c.Create(ctx, u, client.DryRunAll); !apierrors.IsInvalid(err) {
					t.Errorf("%s: got %v, want it refused as invalid", id(u), err)
				}
			}
		})
	}
}

func mustDecode(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	objs, err := decode(strings.NewReader(doc))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decoding %q: %d objects, %v", doc, len(objs), err)
	}
	return objs[0]
}

// seedExamples are the seed's example objects of the kinds the addons define
// (seed-extract.md sections 3.2, 3.3, 3.7, 3.8 and 8.4), with a namespace where the seed
// has none.
var seedExamples = map[schema.AddonType][]string{
	schema.AddonTApp: {`
apiVersion: apps.tkestack.io/v1
kind: TApp
metadata:
  name: example-tapp
  namespace: default
spec:
  replicas: 3
  template:
    metadata:
      labels:
        app: example-tapp
    spec:
      containers:
      - name: nginx
        image: nginx:latest
  templatePool:
    "test2":
      metadata:
        labels:
          app: example-tapp
      spec:
        containers:
        - name: nginx
          image: nginx:1.7.9
  templates:
    "1": "test2"
    "2": "test2"
  updateStrategy:
    template: test2
    maxUnavailable: 1
  statuses:
    "1": "Killed"
`, `
apiVersion: apps.tkestack.io/v1
kind: TApp
metadata:
  name: canary
  namespace: default
spec:
  replicas: 4
  forceDeletePod: true
  template:
    spec:
      containers:
      - {name: nginx, image: nginx}
  updateStrategy:
    maxUnavailable: 50%
`},
	schema.AddonCronHPA: {`
apiVersion: extensions.tkestack.io/v1
kind: CronHPA
metadata:
  name: example-cron-hpa
  namespace: default
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: demo-deployment
  crons:
    - schedule: "0 20 * * 5"
      targetReplicas: 60
    - schedule: "0 23 * * 7"
      targetReplicas: 30
`},
	schema.AddonMonitoring: {`
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: node-ready
  namespace: default
  labels: {gitfleet.dev/alerting: "true"}
spec:
  groups:
  - name: nodes
    rules:
    - alert: NodeNotReady
      expr: kube_node_status_condition{condition="Ready",status!="true"}==1
`},
	schema.AddonCSIOperator: {`
apiVersion: storage.tkestack.io/v1
kind: CSI
metadata:
  name: tencentcbsv1
  namespace: kube-system
spec:
  driverName: com.tencent.cloud.csi.cbs
  version: "v1"
  parameters:
    secretID: "xxxxxx"
    secretKey: "xxxxxx"
`},
	schema.AddonLBCF: {`
apiVersion: lbcf.tkestack.io/v1beta1
kind: LoadBalancer
metadata:
  name: example-of-existing-lb
  namespace: kube-system
spec:
  lbDriver: lbcf-clb-driver
  lbSpec:
    loadBalancerID: "lb-7wf394rv"
    listenerPort: "20000"
    listenerProtocol: "TCP"
  ensurePolicy:
    policy: Always
`, `
apiVersion: lbcf.tkestack.io/v1beta1
kind: BackendGroup
metadata:
  name: web-svc-backend-group
  namespace: kube-system
spec:
  lbName: test-clb-load-balancer
  service:
    name: svc-test
    port:
      portNumber: 80
  parameters:
    weight: "66"
`, `
apiVersion: lbcf.tkestack.io/v1beta1
kind: LoadBalancerDriver
metadata:
  name: lbcf-clb-driver
  namespace: kube-system
spec:
  driverType: Webhook
  url: "http://lbcf-clb-driver.kube-system.svc"
`},
	schema.AddonGalaxyIPAM: {`
apiVersion: galaxy.k8s.io/v1alpha1
kind: FloatingIP
metadata:
  labels:
    ipType: internalIP
  name: 192.168.64.202
spec:
  attribute: '{"NodeName":"172.21.64.15"}'
  key: dp_default_nnn_nnn-7df5984746-58hjm
  policy: 1
  subnet: 172.21.64.0/20
  updateTime: "2020-03-04T08:28:15Z"
`},
}

// refused are objects the CRDs' schemas must refuse.
var refused = map[schema.AddonType][]string{
	// An instance's desired state is Running or Killed.
	schema.AddonTApp: {`
apiVersion: apps.tkestack.io/v1
kind: TApp
metadata: {name: paused, namespace: default}
spec:
  template: {spec: {containers: [{name: nginx, image: nginx}]}}
  statuses: {"0": Paused}
`},
	// A cron needs its target replicas.
	schema.AddonCronHPA: {`
apiVersion: extensions.tkestack.io/v1
kind: CronHPA
metadata: {name: no-target, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  crons: [{schedule: "0 8 * * *"}]
`},
}

// waitEstablished waits until the API server serves a CRD's kind.
func waitEstablished(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var crd apiextv1.CustomResourceDefinition
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
			return false, err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s not established: %v", name, err)
	}
}
