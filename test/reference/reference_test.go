package reference

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"gitfleet.dev/gitfleet/render"
	"gitfleet.dev/gitfleet/schema"
)

// input is a directory (or file) copied into a case's repository.
type input struct {
	from string // testdata (this repository) or helm (the helm.sh/helm/v3 module)
	src  string // directory or file, relative to test/testdata or to the helm module
	dst  string // path in the fleet repository
	// packaged puts the directory in as a .tgz chart archive at dst.
	packaged bool
}

func testdata(src, dst string) input { return input{from: "testdata", src: src, dst: dst} }
func packaged(src, dst string) input {
	return input{from: "testdata", src: src, dst: dst, packaged: true}
}
func helmTestChart(src, dst string) input { return input{from: "helm", src: src, dst: dst} }

// refCase is one App rendered by gitfleet and by the reference binary.
type refCase struct {
	// name is the App's name and the subtest's.
	name   string
	inputs []input
	// files are more repository files, path -> content: small reproducers.
	files map[string]string
	// cluster is the fleet's one Cluster, named member; nil is tkestack.
	cluster *clusterSpec
	// spec is the App's spec without targets (which is always the one cluster), as YAML.
	spec string
	opts refOptions
	// randomNames are name prefixes the chart completes with randAlphaNum.
	randomNames []string
	// fail says both gitfleet and the reference must refuse the input.
	fail bool
	// known are differences between gitfleet and the reference that have been reported
	// and are not resolved yet. The case must still show them (they are logged), so that
	// the day one is fixed the entry is noticed and removed.
	known []known
}

// known is a reported difference between gitfleet and the reference.
type known struct {
	reason string
	// tolerate, when set, removes the difference from both sides: with it the case must
	// match exactly, without it it must not. Without tolerate the whole outcome differs
	// (one side fails, or every object does).
	tolerate func(obj map[string]any)
}

var (
	// knownNonStringLabels: a label value that is not a string (version: 3.9 unquoted)
	// makes an object the API server refuses; gitfleet refuses it at render time, naming
	// the object, while the reference tools print it.
	knownNonStringLabels = known{
		reason: "gitfleet refuses an object whose label value is not a string (the API server would refuse it); the reference prints it",
	}
)

var (
	// tkestack is a cluster of TKEStack v1.5.0 (its newest Kubernetes) with no extra APIs.
	tkestack = clusterSpec{version: "1.18.3", labels: map[string]string{"env": "prod", "region": "ap-guangzhou"}}
	// prodEU is a recent cluster running the Prometheus Operator.
	prodEU = &clusterSpec{version: "1.30.4", labels: map[string]string{"env": "prod", "region": "eu-west-1"}, apiVersions: []string{"monitoring.coreos.com/v1"}}
)

// withVersion is the tkestack cluster at another Kubernetes version ("" for none).
func withVersion(v string) *clusterSpec {
	c := tkestack
	c.version = v
	return &c
}

var (
	shop      = testdata("kustomize/shop", "apps/shop")
	nodeAgent = testdata("kustomize/node-agent", "platform/node-agent")
	// The storefront chart with its values files, as a repository keeps them.
	storefront = []input{testdata("helm/storefront", "charts/storefront"), testdata("helm/values", "values")}
	batch      = []input{packaged("helm/batch-worker", "charts/batch-worker-0.3.0.tgz"), testdata("helm/values", "values")}
)

// Directories of Helm's own test charts in the helm.sh/helm/v3 module.
const (
	helmTestCharts = "cmd/helm/testdata/testcharts"
	helmUtilCharts = "pkg/chartutil/testdata"
	helmActCharts  = "pkg/action/testdata/charts"
)

var cases = []refCase{
	// kustomize: an overlay with a name prefix, a component, images, replicas, an SMP and a
	// JSON 6902 patch, a merged generator and a replacement.
	{name: "shop-staging", inputs: []input{shop}, spec: `
source:
  kustomize:
    path: apps/shop/overlays/staging
`},
	// a second overlay on the same base and component: name suffix, digest image, replaced
	// secret, unhashed generator, nameReference into HPA and Ingress, a CRD and a custom
	// resource filled in by a replacement, $patch: delete.
	{name: "shop-production", inputs: []input{shop}, spec: `
source:
  kustomize:
    path: ./apps/shop/overlays/production/
`},
	// the base put into a namespace by the App (gitfleet's generated kustomization).
	{name: "shop-base-namespaced", inputs: []input{shop}, spec: `
namespace: shop-dev
source:
  kustomize:
    path: apps/shop/base
`},
	// namespace transformer, Namespace object, ClusterRoleBinding subject, envs generator.
	{name: "node-agent", inputs: []input{nodeAgent}, spec: `
source:
  kustomize:
    path: platform/node-agent
`},
	// spec.namespace over a kustomization that sets its own namespace.
	{name: "node-agent-namespaced", inputs: []input{nodeAgent}, spec: `
namespace: observability
source:
  kustomize:
    path: platform/node-agent
`},
	// a generator reading a file outside the kustomization root: both refuse.
	{name: "kustomize-load-restrictor", inputs: []input{testdata("kustomize/load-restrictor", "apps/restricted")}, fail: true, spec: `
source:
  kustomize:
    path: apps/restricted/app
`},

	// Helm: the storefront chart with only the required value, on TKEStack's Kubernetes.
	{name: "storefront-minimal", inputs: storefront, spec: `
namespace: shop
source:
  helm:
    chart: charts/storefront
    releaseName: web
    values:
      database:
        host: postgres.shop.svc
`},
	// every values layer: two files, values (tpl strings, a float-looking string, a big
	// integer, lists), valuesByLabel (two match, one does not), valuesByCluster (disables the
	// aliased cache subchart); capabilities from a newer cluster with the Prometheus
	// Operator's API.
	{name: "storefront-production", inputs: storefront,
		cluster: prodEU,
		spec:    storefrontProduction},
	// the same App, its values given to helm as a values file instead of --set.
	{name: "storefront-values-as-file", inputs: storefront, opts: refOptions{valuesAsFile: true},
		cluster: prodEU,
		spec:    storefrontProduction,
		known:   []known{{reason: "App values keep YAML's integer type, as --set does; through a values file (how Flux's HelmRelease spec.values and Argo CD's valuesObject reach Helm) integers are float64 and print as 2.097152e+07"}}},
	// the cache subchart with globals, persistence and an image override; nulls that delete
	// chart defaults; an older cluster.
	{name: "storefront-staging", inputs: storefront,
		cluster: &clusterSpec{version: "1.24.17", labels: map[string]string{"env": "staging", "region": "ap-shanghai"}},
		spec: `
namespace: shop-staging
source:
  helm:
    chart: charts/storefront
    values:
      fullnameOverride: storefront
      global:
        imageRegistry: mirror.example.com
        storageClass: fast-ssd
      database:
        host: pg-staging
        port: 6432
        passwordSecret: staging-db
      podSecurityContext:
        runAsUser: null
      serviceAccount:
        create: false
      autoscaling:
        enabled: true
      ingress:
        enabled: true
        tls:
        - secretName: staging-tls
          hosts: [storefront.staging.example.com]
      cache:
        persistence:
          enabled: true
          size: 10Gi
        image:
          tag: 7.2.6-alpine
    valuesByLabel:
    - selector:
        matchLabels:
          env: staging
      values:
        tests:
          enabled: false
        extraEnv:
        - name: DEBUG
          value: "1"
`},
	// no spec.version: both fall back to Helm's default capabilities.
	{name: "storefront-no-version", inputs: storefront, cluster: withVersion(""), spec: `
namespace: shop
source:
  helm:
    chart: charts/storefront
    values:
      database:
        host: postgres
`},
	// ingress-nginx-style map keyed by port numbers.
	{name: "storefront-numeric-keys", inputs: storefront, spec: `
namespace: shop
source:
  helm:
    chart: charts/storefront
    values:
      database:
        host: postgres
      tcpServices:
        9000: shop/checkout-grpc:9000
        "9001": shop/payments:9001
`},
	// required and kubeVersion: both refuse.
	{name: "storefront-missing-required", inputs: storefront, fail: true, spec: `
source:
  helm:
    chart: charts/storefront
`},
	{name: "storefront-kube-too-old", inputs: storefront, fail: true, cluster: withVersion("1.15.12"), spec: `
source:
  helm:
    chart: charts/storefront
    values:
      database:
        host: postgres
`},
	// a packaged chart with a values file and values; CronJob API by version.
	{name: "batch-worker", inputs: batch, cluster: withVersion("1.28.4"), spec: `
namespace: batch
source:
  helm:
    chart: charts/batch-worker-0.3.0.tgz
    releaseName: nightly
    valuesFiles:
    - values/batch-worker-staging.yaml
    values:
      image:
        tag: "2024.07.1"
      successfulJobsHistoryLimit: 10
      jobs:
        cart-cleanup:
          suspend: true
`},
	{name: "batch-worker-defaults", inputs: batch, spec: `
source:
  helm:
    chart: charts/batch-worker-0.3.0.tgz
`},

	// Helm's own test charts.
	{name: "helm-subchart", inputs: []input{helmTestChart(helmTestCharts+"/subchart", "charts/subchart")}, spec: `
source:
  helm:
    chart: charts/subchart
`},
	// values file, --set values, tags, and an extra API version the chart tests for.
	{name: "helm-subchart-layered", inputs: []input{helmTestChart(helmTestCharts+"/subchart", "charts/subchart")},
		cluster: &clusterSpec{version: "1.29.0", labels: tkestack.labels, apiVersions: []string{"helm.k8s.io/test"}},
		spec: `
namespace: sub
source:
  helm:
    chart: charts/subchart
    valuesFiles:
    - charts/subchart/extra_values.yaml
    values:
      configmap:
        value: from-the-app
      service:
        externalPort: 8080
      tags:
        front-end: false
    valuesByCluster:
      member:
        subchartb:
          enabled: true
`},
	{name: "helm-chart-with-lib-dep", inputs: []input{helmTestChart(helmTestCharts+"/chart-with-lib-dep", "charts/lib-dep")}, spec: `
source:
  helm:
    chart: charts/lib-dep
`},
	{name: "helm-template-lib-dep", inputs: []input{helmTestChart(helmTestCharts+"/chart-with-template-lib-dep", "charts/template-lib-dep")}, spec: `
source:
  helm:
    chart: charts/template-lib-dep
    values:
      service:
        type: NodePort
`},
	{name: "helm-template-lib-archive-dep", inputs: []input{helmTestChart(helmTestCharts+"/chart-with-template-lib-archive-dep", "charts/template-lib-archive-dep")}, spec: `
source:
  helm:
    chart: charts/template-lib-archive-dep
`},
	{name: "helm-object-order", inputs: []input{helmTestChart(helmTestCharts+"/object-order", "charts/object-order")}, spec: `
source:
  helm:
    chart: charts/object-order
`},
	{name: "helm-only-crds", inputs: []input{helmTestChart(helmTestCharts+"/chart-with-only-crds", "charts/only-crds")}, spec: `
source:
  helm:
    chart: charts/only-crds
`},
	{name: "helm-chart-with-secret", inputs: []input{helmTestChart(helmTestCharts+"/chart-with-secret", "charts/with-secret")}, spec: `
source:
  helm:
    chart: charts/with-secret
`},
	{name: "helm-alpine", known: []known{knownNonStringLabels}, inputs: []input{helmTestChart(helmTestCharts+"/alpine", "charts/alpine")}, spec: `
namespace: tools
source:
  helm:
    chart: charts/alpine
    values:
      Name: my-alpine
`},
	{name: "helm-subpop", inputs: []input{helmTestChart(helmUtilCharts+"/subpop", "charts/subpop")}, spec: `
source:
  helm:
    chart: charts/subpop
`},
	{name: "helm-compressed-deps", randomNames: []string{"helm-compressed-deps-mariadb-test-"}, inputs: []input{helmTestChart(helmActCharts+"/chart-with-compressed-dependencies", "charts/compressed-deps")}, spec: `
source:
  helm:
    chart: charts/compressed-deps
    values:
      mariadb:
        rootUser:
          existingSecret: mariadb-auth
`},
	{name: "helm-uncompressed-deps", randomNames: []string{"helm-uncompressed-deps-mariadb-test-"}, inputs: []input{helmTestChart(helmActCharts+"/chart-with-uncompressed-dependencies", "charts/uncompressed-deps")}, spec: `
source:
  helm:
    chart: charts/uncompressed-deps
    values:
      mariadb:
        rootUser:
          existingSecret: mariadb-auth
`},
	// a chart packaged by Helm (a .tgz with its dependencies unpacked inside).
	{name: "helm-packaged-chart", randomNames: []string{"helm-packaged-chart-mariadb-test-"}, inputs: []input{helmTestChart(helmActCharts+"/chart-with-uncompressed-dependencies-2.1.8.tgz", "charts/wordpress-2.1.8.tgz")}, spec: `
source:
  helm:
    chart: charts/wordpress-2.1.8.tgz
    values:
      mariadb:
        rootUser:
          existingSecret: mariadb-auth
`},
	// both refuse: values against the schema, a nil pointer in a template.
	{name: "helm-schema-violation", fail: true, inputs: []input{helmTestChart(helmTestCharts+"/chart-with-schema-and-subchart", "charts/schema")}, spec: `
source:
  helm:
    chart: charts/schema
`},
	{name: "helm-nil-pointer", fail: true, inputs: []input{helmTestChart(helmTestCharts+"/issue1979", "charts/issue1979")}, spec: `
source:
  helm:
    chart: charts/issue1979
`},
	{name: "helm-missing-dependencies", fail: true, inputs: []input{helmTestChart(helmTestCharts+"/chart-missing-deps", "charts/missing-deps")}, spec: `
source:
  helm:
    chart: charts/missing-deps
`},
	// a library chart is not installable.
	{name: "library-chart", fail: true, inputs: storefront, spec: `
source:
  helm:
    chart: charts/storefront/charts/common-lib
`},
	// Minimal reproducers of the known differences above.
	{name: "repro-block-scalar-newline", files: map[string]string{
		"charts/conf/Chart.yaml":          "apiVersion: v2\nname: conf\nversion: 0.1.0\n",
		"charts/conf/templates/conf.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf\ndata:\n  app.conf: |\n    a=1\n",
	}, spec: `
source:
  helm:
    chart: charts/conf
`},
	{name: "repro-non-string-label", known: []known{knownNonStringLabels}, files: map[string]string{
		"apps/labels/kustomization.yaml": "resources: [cm.yaml]\n",
		"apps/labels/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf\n  labels:\n    app: web\n    version: 3.9\ndata:\n  a: b\n",
	}, spec: `
source:
  kustomize:
    path: apps/labels
`},
	// a chart whose template prints its values: YAML, but no Kubernetes object.
	{name: "helm-values-dump", known: []known{{reason: "gitfleet refuses a manifest document that is not a Kubernetes object (Object 'Kind' is missing), as helm install does; helm template prints it"}}, inputs: []input{helmTestChart(helmTestCharts+"/issue-9027", "charts/issue-9027")}, spec: `
source:
  helm:
    chart: charts/issue-9027
`},
}

const storefrontProduction = `
namespace: shop-prod
source:
  helm:
    chart: ./charts/storefront
    releaseName: shop-web
    valuesFiles:
    - values/storefront-common.yaml
    - ./values/storefront-production.yaml
    values:
      replicaCount: 4
      config:
        siteName: Shop EU
        greeting: "{{ .Values.config.siteName }}, served from {{ .Release.Namespace }} on Kubernetes {{ .Capabilities.KubeVersion.Major }}.{{ .Capabilities.KubeVersion.Minor }}"
        maxUploadBytes: 20971520
        currencies: [EUR, GBP, CHF]
      env:
        FEATURE_GIFT_CARDS: "true"
        PRICE_PRECISION: "2.0"
        CART_TTL: 45m
    valuesByLabel:
    - selector:
        matchLabels:
          env: prod
      values:
        metrics:
          serviceMonitor:
            interval: 15s
        podDisruptionBudget:
          minAvailable: 2
    - selector:
        matchLabels:
          env: staging
      values:
        tests:
          enabled: false
    - selector:
        matchLabels:
          region: eu-west-1
      values:
        nodeSelector:
          topology.kubernetes.io/region: eu-west-1
        tolerations:
        - key: dedicated
          operator: Equal
          value: shop
          effect: NoSchedule
    valuesByCluster:
      member:
        cache:
          enabled: false
        migrations:
          backoffLimit: 5
`

// TestMatchesReference renders every case with gitfleet and with the reference binary and
// compares the objects.
func TestMatchesReference(t *testing.T) {
	tl := findTools(t)
	helmDir := helmModuleDir(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, tl, helmDir)
		})
	}
}

func (tc refCase) run(t *testing.T, tl *tools, helmDir string) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	fsys := tc.repository(t, helmDir)
	sealed, dec := sealGeneratorSources(t, fsys)
	repo, err := schema.Load(ctx, sealed)
	if err != nil {
		t.Fatalf("the case's fleet repository does not load:\n%v", err)
	}
	cluster, app := repo.Cluster(clusterName), repo.App(tc.name)

	r, err := render.NewWithOptions(ctx, sealed, repo, render.Options{Decrypt: dec})
	if err != nil {
		t.Fatalf("render.New: %v", err)
	}
	var got *render.AppResult
	for _, a := range r.Cluster(ctx, cluster).Apps {
		if a.App.Metadata.Name == tc.name {
			got = &a
		}
	}
	if got == nil {
		t.Fatalf("gitfleet rendered no result for app %s on cluster %s", tc.name, clusterName)
	}

	dir, scratch := t.TempDir(), t.TempDir()
	if err := writeDisk(fsys, dir); err != nil {
		t.Fatal(err)
	}
	bin, args, err := referenceCommand(tl, dir, scratch, app, cluster, tc.opts)
	if err != nil {
		t.Fatal(err)
	}
	out, refErr := tl.run(ctx, bin, args...)
	tc.judge(t, sides{got: got, out: out, refErr: refErr, command: filepath.Base(bin) + " " + strings.Join(args, " ")})
}

// sides is what gitfleet and the reference made of one case.
type sides struct {
	got     *render.AppResult
	out     []byte // the reference's output
	refErr  error
	command string // the reference command, for the reader of a failure
}

// judge fails the test unless the sides match, or differ exactly as the case's known
// differences say.
func (tc refCase) judge(t *testing.T, s sides) {
	t.Helper()
	if tc.fail {
		t.Logf("gitfleet: %v\nreference: %v", s.got.Err, s.refErr)
	}
	diffs := tc.diffs(t, s, nil, true)
	if len(tc.known) == 0 {
		if len(diffs) > 0 {
			t.Errorf("app %s: gitfleet and the reference differ\nreference: %s\n%s", tc.name, s.command, report(diffs, 10))
		}
		return
	}
	var reasons []string
	var tolerate []func(map[string]any)
	wholeCase := false
	for _, k := range tc.known {
		reasons = append(reasons, k.reason)
		if k.tolerate == nil {
			wholeCase = true
		} else {
			tolerate = append(tolerate, k.tolerate)
		}
	}
	why := strings.Join(reasons, "; ")
	if len(diffs) == 0 {
		t.Errorf("known difference no longer reproduces (%s): remove it from the case\nreference: %s", why, s.command)
		return
	}
	if !wholeCase {
		if rest := tc.diffs(t, s, tolerate, false); len(rest) > 0 {
			t.Errorf("app %s: gitfleet and the reference differ beyond the known differences (%s)\nreference: %s\n%s", tc.name, why, s.command, report(rest, 10))
			return
		}
	}
	t.Logf("known difference: %s\nreference: %s\n%s", why, s.command, report(diffs, 3))
}

// diffs lists the differences between the sides, each naming its object, after applying
// tolerate to the objects of both.
func (tc refCase) diffs(t *testing.T, s sides, tolerate []func(map[string]any), log bool) []string {
	var diffs []string
	switch {
	case tc.fail:
		if s.got.Err == nil {
			diffs = append(diffs, fmt.Sprintf("gitfleet rendered %d objects, but the input is invalid", len(s.got.Objects)))
		}
		if s.refErr == nil {
			diffs = append(diffs, "the reference rendered the input, but it is invalid (the case is wrong)")
		}
	case s.got.Err != nil || s.refErr != nil:
		if s.got.Err != nil {
			diffs = append(diffs, fmt.Sprintf("gitfleet failed: %v", s.got.Err))
		}
		if s.refErr != nil {
			diffs = append(diffs, fmt.Sprintf("the reference failed: %v", s.refErr))
		}
	default:
		want, err := parseStream(s.out)
		if err != nil {
			t.Fatalf("reading the reference's output: %v\n%s", err, s.out)
		}
		result := compareObjects(s.got.Objects, want, compareOptions{labels: gitfleetLabels(tc.name, fleetName), randomNames: tc.randomNames, tolerate: tolerate})
		diffs = result.diffs
		if log {
			if len(result.replaced) > 0 {
				t.Logf("gitfleet's labels replace the chart's own on %d objects, e.g. %s", len(result.replaced), result.replaced[0])
			}
			t.Logf("%d objects compared", result.objects)
		}
	}
	return diffs
}

// repository assembles the case's fleet repository: the Fleet, the Cluster, the App and the
// input files.
func (tc refCase) repository(t *testing.T, helmDir string) fstest.MapFS {
	c := &tkestack
	if tc.cluster != nil {
		c = tc.cluster
	}
	spec := "spec:\n  targets:\n    clusters: [" + clusterName + "]" + strings.ReplaceAll(strings.TrimRight(tc.spec, "\n"), "\n", "\n  ") + "\n"
	fsys := fstest.MapFS{
		"fleet.yaml":                        {Data: []byte(fleetYAML)},
		"clusters/" + clusterName + ".yaml": {Data: []byte(c.yaml())},
		"fleet/apps/" + tc.name + ".yaml":   {Data: []byte("apiVersion: gitfleet.dev/v1alpha1\nkind: App\nmetadata:\n  name: " + tc.name + "\n" + spec)},
	}
	for name, content := range tc.files {
		fsys[name] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
	}
	for _, in := range tc.inputs {
		src := filepath.Join("..", "testdata", filepath.FromSlash(in.src))
		if in.from == "helm" {
			src = filepath.Join(helmDir, filepath.FromSlash(in.src))
		}
		var err error
		if in.packaged {
			err = addPackagedChart(fsys, src, in.dst)
		} else {
			err = addDir(fsys, src, in.dst)
		}
		if err != nil {
			t.Fatalf("input %s: %v", in.src, err)
		}
	}
	return fsys
}
