package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// obj writes a fleet file: metadata.name is at 4:9 and, when spec is not empty, the lines
// of spec start at line 6.
func obj(kind, name, spec string) string {
	s := fmt.Sprintf("apiVersion: gitfleet.dev/v1alpha1\nkind: %s\nmetadata:\n  name: %s\n", kind, name)
	if spec == "" {
		return s
	}
	return s + "spec:\n" + spec
}

// nsFile writes a Namespace: spec.business at 6:13, spec.cluster at 7:12, extra from line 8.
func nsFile(name, business, cluster, extra string) string {
	return obj("Namespace", name, "  business: "+business+"\n  cluster: "+cluster+"\n"+extra)
}

// appFileFor writes an App with a kustomize source (lines 6-8); spec continues at line 9.
func appFileFor(name, spec string) string {
	return obj("App", name, "  source:\n    kustomize:\n      path: apps/web\n"+spec)
}

var (
	gzDev  = obj("Cluster", "gz-dev", "")
	gzProd = obj("Cluster", "gz-prod", "")
)

// areaErrors loads files with the real decoder and defaults (as Repo.finish does) but runs
// only the checks of this area (unique names, businesses, namespaces, quotas, tenancy), so
// that these tests pin this area's messages while other areas' rules evolve.
func areaErrors(t *testing.T, files map[string]string) (*Repo, []string) {
	t.Helper()
	r := &Repo{}
	var errs ErrorList
	for _, name := range sortedKeys(files) {
		errs = append(errs, r.loadFile(name, []byte(files[name]), nil)...)
	}
	r.sortAll()
	r.Fleet = &Fleet{Object: Object{TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindFleet}, Metadata: ObjectMeta{Name: "fleet"}}}
	r.Fleet.setDefaults()
	r.defaultsClusters()
	r.defaultsApps()
	r.defaultsBusiness()
	errs = append(errs, r.uniqueNamesAll()...)
	errs = append(errs, r.validateBusiness()...)
	errs.Sort()
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	return r, got
}

type areaCase struct {
	name  string
	files map[string]string
	want  []string
}

func runAreaCases(t *testing.T, cases []areaCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, got := areaErrors(t, tc.files)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// validFleet is a parent/child business pair and a second business, with namespaces on two
// clusters, quotas that nest, a business App and a platform App that deploys into a
// business namespace.
func validFleet(withBusinessApp bool) map[string]string {
	files := map[string]string{
		"clusters/gz-dev.yaml":  obj("Cluster", "gz-dev", "  capacity:\n    cpu: 100\n    memory: 256Gi\n"),
		"clusters/gz-prod.yaml": obj("Cluster", "gz-prod", "  capacity:\n    cpu: 64\n    memory: 128Gi\n  overcommit: 1.5\n"),
		"businesses/payments.yaml": obj("Business", "payments", `  displayName: 支付 Payments
  members:
  - user: alice
    role: admin
  - group: pay-devs
  - user: bob
    role: readonly
  quota:
    gz-dev:
      cpu: 40
      memory: 80Gi
      pods: 200
    gz-prod:
      cpu: 32
      memory: 64Gi
      requests.nvidia.com/gpu: 4
`),
		"businesses/payments-dev.yaml": obj("Business", "payments-dev", `  parent: payments
  members:
  - user: carol
  quota:
    gz-dev: {cpu: 16, memory: 32Gi}
    gz-prod: {}
`),
		"businesses/games.yaml": obj("Business", "games", "  quota:\n    gz-dev: {cpu: 40}\n    gz-prod: {cpu: 60}\n"),
		"businesses/payments/namespaces/pay-api.yaml": nsFile("pay-api", "payments", "gz-dev", `  quota:
    requests.cpu: 8
    memory: 16Gi
    pods: 50
  limitRange:
    min: {cpu: 100m, memory: 64Mi}
    max: {cpu: "4", memory: 8Gi}
    default: {cpu: "1", memory: 1Gi, nvidia.com/gpu: 1}
    defaultRequest: {cpu: 500m, memory: 1Gi, nvidia.com/gpu: 1}
`),
		"businesses/payments/namespaces/pay-prod.yaml":    nsFile("pay-prod", "payments", "gz-prod", "  quota: {cpu: 16, memory: 32Gi, requests.nvidia.com/gpu: 2}\n"),
		"businesses/payments-dev/namespaces/pd-dev.yaml":  nsFile("pd-dev", "payments-dev", "gz-dev", "  quota: {cpu: 8, memory: 16Gi}\n"),
		"businesses/payments-dev/namespaces/pd-prod.yaml": nsFile("pd-prod", "payments-dev", "gz-prod", "  quota: {cpu: 8}\n"),
		"businesses/games/namespaces/arcade.yaml":         nsFile("arcade", "games", "gz-prod", ""),
		"apps/monitoring/app.yaml":                        appFileFor("monitoring", "  targets:\n    clusters: [gz-dev]\n    namespaces: [pay-api]\n"),
		"apps/web/kustomization.yaml":                     kustomize,
	}
	if withBusinessApp {
		files["apps/pay-web/app.yaml"] = appFileFor("pay-web", "  business: payments\n  targets:\n    namespaces: [pay-api, pay-prod]\n")
	}
	return files
}

func TestBusinessValid(t *testing.T) {
	r, got := areaErrors(t, validFleet(true))
	if len(got) != 0 {
		t.Fatalf("unexpected errors:\n%s", strings.Join(got, "\n"))
	}
	if b := r.Business("payments"); b == nil || b.Spec.Members[1].Role != BusinessMember || b.Spec.Members[0].Role != BusinessAdmin {
		t.Errorf("payments: member roles not defaulted to member: %+v", b)
	}
	if r.Business("nobody") != nil || r.Namespace("nobody") != nil {
		t.Errorf("lookups of unknown names must return nil")
	}
	if n := r.Namespace("pd-prod"); n == nil || n.Spec.Cluster != "gz-prod" {
		t.Errorf("Namespace(pd-prod) = %+v", n)
	}
	var names []string
	for _, n := range r.NamespacesOf("payments") {
		names = append(names, n.Metadata.Name)
	}
	if diff := cmp.Diff([]string{"pay-api", "pay-prod"}, names); diff != "" {
		t.Errorf("NamespacesOf(payments) (-want +got):\n%s", diff)
	}
	if got := r.NamespacesOf("nobody"); got != nil {
		t.Errorf("NamespacesOf(nobody) = %v, want nil", got)
	}
}

// TestBusinessValidLoad loads the valid fleet through Load, with every area's checks.
// (The business App is left out: a business App targets only namespaces, which the Apps
// area's "an App needs targets" rule does not know about yet.)
func TestBusinessValidLoad(t *testing.T) {
	if _, err := Load(t.Context(), repoFS(validFleet(false))); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

func TestBusinessErrors(t *testing.T) {
	runAreaCases(t, []areaCase{
		{
			name: "business name and display name",
			files: map[string]string{
				"businesses/a.yaml": obj("Business", "Pay_ments", "  displayName: "+strings.Repeat("x", 64)+"\n"),
				"businesses/b.yaml": obj("Business", strings.Repeat("b", 64), "  displayName: \"two\\nlines\"\n"),
			},
			want: []string{
				`businesses/a.yaml:4:9: metadata.name: "Pay_ments" is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`businesses/a.yaml:6:16: spec.displayName: must be at most 63 characters (TKEStack's limit for a business name), found 64`,
				`businesses/b.yaml:4:9: metadata.name: "` + strings.Repeat("b", 64) + `" is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`businesses/b.yaml:6:16: spec.displayName: must be a single line without tabs`,
			},
		},
		{
			name: "parents: self, unknown, cycle",
			files: map[string]string{
				"businesses/a.yaml": obj("Business", "a", "  parent: a\n"),
				"businesses/b.yaml": obj("Business", "b", "  parent: nobody\n"),
				"businesses/c.yaml": obj("Business", "c", "  parent: d\n"),
				"businesses/d.yaml": obj("Business", "d", "  parent: c\n"),
				"businesses/e.yaml": obj("Business", "e", "  parent: c\n"),
			},
			want: []string{
				`businesses/a.yaml:6:11: spec.parent: a business cannot be its own parent; remove spec.parent to make it a top-level business`,
				`businesses/b.yaml:6:11: spec.parent: no Business named "nobody" in the repository (known: a, b, c, d, e)`,
				`businesses/c.yaml:6:11: spec.parent: parent cycle: c → d → c; a business cannot be its own ancestor, so remove one of these parents`,
				`businesses/d.yaml:6:11: spec.parent: parent cycle: d → c → d; a business cannot be its own ancestor, so remove one of these parents`,
			},
		},
		{
			name: "members: user or group, roles, duplicates",
			files: map[string]string{"businesses/a.yaml": obj("Business", "a", `  members:
  - user: alice
    group: devs
  - role: admin
  - user: bob
    role: owner
  - user: bob
  - group: devs
    role: readonly
  - group: devs
`)},
			want: []string{
				`businesses/a.yaml:7:5: spec.members[0]: a member is either a user or a group, not both; list the group as a member of its own`,
				`businesses/a.yaml:9:5: spec.members[1]: a member needs a user or a group`,
				`businesses/a.yaml:11:11: spec.members[2].role: unknown business role "owner"; expected admin (manages members, sub-businesses and namespaces), member or readonly`,
				`businesses/a.yaml:12:11: spec.members[3].user: user "bob" is already a member (spec.members[2]); list each user once, with one role`,
				`businesses/a.yaml:15:12: spec.members[5].group: group "devs" is already a member (spec.members[4]); list each group once, with one role`,
			},
		},
		{
			name: "members refer to declared users, groups and policies",
			files: map[string]string{
				"access/all.yaml": obj("User", "alice", "") + "---\n" + obj("Group", "ops", "") + "---\n" + obj("Policy", "deploy", "  scope: business\n"),
				"businesses/a.yaml": obj("Business", "a", `  members:
  - user: alice
    policies: [deploy, deploy, rollout]
  - user: mallory
  - group: ops
  - group: devs
`),
			},
			want: []string{
				`businesses/a.yaml:8:24: spec.members[0].policies[1]: policy "deploy" is listed twice`,
				`businesses/a.yaml:8:32: spec.members[0].policies[2]: no Policy named "rollout" in the repository (known: deploy)`,
				`businesses/a.yaml:9:11: spec.members[1].user: no User named "mallory" in the repository (known: alice)`,
				`businesses/a.yaml:11:12: spec.members[3].group: no Group named "devs" in the repository (known: ops)`,
			},
		},
		{
			name:  "member policies must exist even when no Policy is declared",
			files: map[string]string{"businesses/a.yaml": obj("Business", "a", "  members:\n  - user: anyone\n    policies: [deploy]\n")},
			want:  []string{`businesses/a.yaml:8:16: spec.members[0].policies[0]: no Policy named "deploy" in the repository`},
		},
		{
			name: "quota keys are cluster names",
			files: map[string]string{
				"clusters/gz-dev.yaml": gzDev,
				"businesses/a.yaml":    obj("Business", "a", "  quota:\n    gz-dev: {cpu: 1}\n    bj-prod:\n      cpu: 1\n"),
			},
			want: []string{`businesses/a.yaml:9:7: spec.quota.bj-prod: no Cluster named "bj-prod" in the repository (known: gz-dev); spec.quota is keyed by cluster name`},
		},
		{
			name: "sub-business quota on a cluster its parent lacks",
			files: map[string]string{
				"clusters/gz-dev.yaml":  gzDev,
				"clusters/gz-prod.yaml": gzProd,
				"businesses/p.yaml":     obj("Business", "payments", "  quota:\n    gz-dev: {cpu: 10}\n"),
				"businesses/c.yaml":     obj("Business", "payments-dev", "  parent: payments\n  quota:\n    gz-dev: {cpu: 1}\n    gz-prod:\n      cpu: 1\n"),
			},
			want: []string{`businesses/c.yaml:10:7: spec.quota.gz-prod: the parent business "payments" has no quota on cluster gz-prod, so its sub-business cannot have one there; add gz-prod to "payments"'s spec.quota or remove it here`},
		},
		{
			name: "namespace names",
			files: map[string]string{
				"clusters/gz-dev.yaml":  gzDev,
				"businesses/p.yaml":     obj("Business", "payments", "  quota:\n    gz-dev: {}\n"),
				"namespaces/bad.yaml":   nsFile("Bad_ns", "payments", "gz-dev", ""),
				"namespaces/kube.yaml":  nsFile("kube-tools", "payments", "gz-dev", ""),
				"namespaces/dflt.yaml":  nsFile("default", "payments", "gz-dev", ""),
				"namespaces/long.yaml":  nsFile(strings.Repeat("n", 64), "payments", "gz-dev", ""),
				"namespaces/ok-63.yaml": nsFile(strings.Repeat("n", 63), "payments", "gz-dev", ""),
			},
			want: []string{
				`namespaces/bad.yaml:4:9: metadata.name: "Bad_ns" is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`namespaces/dflt.yaml:4:9: metadata.name: namespace "default" is reserved for Kubernetes and the platform (default and kube-*); give the business namespace another name`,
				`namespaces/kube.yaml:4:9: metadata.name: namespace "kube-tools" is reserved for Kubernetes and the platform (default and kube-*); give the business namespace another name`,
				`namespaces/long.yaml:4:9: metadata.name: "` + strings.Repeat("n", 64) + `" is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
			},
		},
		{
			name: "namespace business and cluster are required and must exist",
			files: map[string]string{
				"clusters/gz-dev.yaml":  gzDev,
				"clusters/gz-prod.yaml": gzProd,
				"businesses/p.yaml":     obj("Business", "payments", "  quota:\n    gz-dev: {}\n"),
				"namespaces/n1.yaml":    obj("Namespace", "n1", "  quota:\n    cpu: 1\n"),
				"namespaces/n2.yaml":    nsFile("n2", "nobody", "nowhere", ""),
			},
			want: []string{
				`namespaces/n1.yaml:6:3: spec.business: required: the Business that owns this namespace`,
				`namespaces/n1.yaml:6:3: spec.cluster: required: the one Cluster the namespace is created in`,
				`namespaces/n2.yaml:6:13: spec.business: no Business named "nobody" in the repository (known: payments)`,
				`namespaces/n2.yaml:7:12: spec.cluster: no Cluster named "nowhere" in the repository (known: gz-dev, gz-prod)`,
			},
		},
		{
			name: "namespace cluster must be one of its business's clusters",
			files: map[string]string{
				"clusters/gz-dev.yaml":  gzDev,
				"clusters/gz-prod.yaml": gzProd,
				"businesses/p.yaml":     obj("Business", "payments", "  quota:\n    gz-dev: {}\n"),
				"businesses/e.yaml":     obj("Business", "empty", ""),
				"namespaces/n3.yaml":    nsFile("n3", "payments", "gz-prod", ""),
				"namespaces/n4.yaml":    nsFile("n4", "empty", "gz-dev", ""),
			},
			want: []string{
				`namespaces/n3.yaml:7:12: spec.cluster: cluster gz-prod is not one of business "payments"'s clusters (its clusters: gz-dev); a namespace must be on a cluster its business has in spec.quota, so add gz-prod there or choose another cluster`,
				`namespaces/n4.yaml:7:12: spec.cluster: cluster gz-dev is not one of business "empty"'s clusters (it has none yet); a namespace must be on a cluster its business has in spec.quota, so add gz-dev there or choose another cluster`,
			},
		},
		{
			name: "namespace names are unique in the repository, across clusters",
			files: map[string]string{
				"clusters/gz-dev.yaml":  gzDev,
				"clusters/gz-prod.yaml": gzProd,
				"businesses/p.yaml":     obj("Business", "payments", "  quota:\n    gz-dev: {}\n    gz-prod: {}\n"),
				"namespaces/a.yaml":     nsFile("web", "payments", "gz-dev", ""),
				"namespaces/b.yaml":     nsFile("web", "payments", "gz-prod", ""),
			},
			want: []string{`namespaces/b.yaml:4:9: metadata.name: another Namespace named "web" is declared at namespaces/a.yaml:4:9`},
		},
	})
}

func TestTenancyErrors(t *testing.T) {
	base := map[string]string{
		"clusters/gz-dev.yaml": gzDev,
		"businesses/p.yaml":    obj("Business", "payments", "  quota:\n    gz-dev: {}\n"),
		"businesses/g.yaml":    obj("Business", "games", "  quota:\n    gz-dev: {}\n"),
		"namespaces/pay.yaml":  nsFile("pay-prod", "payments", "gz-dev", ""),
		"namespaces/g1.yaml":   nsFile("g1", "games", "gz-dev", ""),
	}
	with := func(files map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range files {
			out[k] = v
		}
		return out
	}
	runAreaCases(t, []areaCase{
		{
			name: "business app: unknown business, no namespaces, clusters and selector",
			files: with(map[string]string{"apps/pay.yaml": appFileFor("pay", `  business: nobody
  targets:
    clusters: [gz-dev]
    selector: {}
`)}),
			want: []string{
				`apps/pay.yaml:9:13: spec.business: no Business named "nobody" in the repository (known: games, payments)`,
				`apps/pay.yaml:11:5: spec.targets.namespaces: a business App is applied only into its business's namespaces: list Namespaces of business "nobody" in spec.targets.namespaces`,
				`apps/pay.yaml:11:15: spec.targets.clusters: a business App reaches clusters only through its namespaces: remove spec.targets.clusters and list Namespaces of business "nobody" in spec.targets.namespaces`,
				`apps/pay.yaml:12:15: spec.targets.selector: a business App reaches clusters only through its namespaces: remove spec.targets.selector and list Namespaces of business "nobody" in spec.targets.namespaces`,
			},
		},
		{
			name:  "business app without targets names its business's namespaces",
			files: with(map[string]string{"apps/games.yaml": appFileFor("games-web", "  business: games\n")}),
			want:  []string{`apps/games.yaml:6:3: spec.targets.namespaces: a business App is applied only into its business's namespaces: list Namespaces of business "games" in spec.targets.namespaces (the business's namespaces: g1)`},
		},
		{
			name: "business app: another business's namespace, unknown and repeated namespaces, spec.namespace",
			files: with(map[string]string{"apps/games.yaml": appFileFor("games-web", `  business: games
  namespace: g1
  targets:
    namespaces: [g1, pay-prod, nope, g1]
`)}),
			want: []string{
				`apps/games.yaml:10:14: spec.namespace: a business App is applied into each of its spec.targets.namespaces; spec.namespace "g1" would move its objects out of namespace "pay-prod", so remove spec.namespace`,
				`apps/games.yaml:12:22: spec.targets.namespaces[1]: tenancy violation: namespace "pay-prod" belongs to business "payments", not to "games"; a business App may only be applied into its own business's namespaces`,
				`apps/games.yaml:12:32: spec.targets.namespaces[2]: no Namespace named "nope" in the repository (the business's namespaces: g1)`,
				`apps/games.yaml:12:38: spec.targets.namespaces[3]: namespace "g1" is already listed (spec.targets.namespaces[0])`,
			},
		},
		{
			name: "platform app may target business namespaces that exist",
			files: with(map[string]string{"apps/platform.yaml": appFileFor("logging", `  targets:
    clusters: [gz-dev]
    namespaces: [pay-prod, g1, ghost]
`)}),
			want: []string{`apps/platform.yaml:11:32: spec.targets.namespaces[2]: no Namespace named "ghost" in the repository (known: g1, pay-prod)`},
		},
	})
}

func TestMemberPolicyScope(t *testing.T) {
	_, err := Load(t.Context(), repoFS(map[string]string{
		"access/p.yaml":     obj("Policy", "view-clusters", "  effect: allow\n  actions: [\"get*\"]\n  resources: [\"*\"]\n"),
		"businesses/a.yaml": obj("Business", "a", "  members:\n  - {user: alice, policies: [view-clusters]}\n"),
	}))
	want := `businesses/a.yaml:7:30: spec.members[0].policies[0]: Policy "view-clusters" has scope platform; business members can only be granted policies with scope: business`
	var got []string
	for _, e := range AsErrorList(err) {
		got = append(got, e.Error())
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("errors %q, want only %q", got, want)
	}
}
