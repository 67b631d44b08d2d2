package schema

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// accessDoc is a fleet document with metadata.name on line 4 and spec's first line on
// line 6, so that expected positions can be read off the spec text.
func accessDoc(kind, name, spec string) string {
	return "apiVersion: gitfleet.dev/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

// accessBase is what the access kinds refer to: a cluster, a business with a namespace on
// it, users and policies.
var accessBase = map[string]string{
	"clusters/dev.yaml":                          clusterFile,
	"clusters/prod.yaml":                         "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: prod\n",
	"addons/logagent.yaml":                       accessDoc("Addon", "logagent", "  type: LogAgent\n  clusters: [dev, prod]\n"),
	"businesses/team.yaml":                       accessDoc("Business", "team", "  displayName: Team\n  quota:\n    dev: {cpu: \"4\", memory: 8Gi}\n    prod: {cpu: \"4\", memory: 8Gi}\n"),
	"businesses/other.yaml":                      accessDoc("Business", "other", "  quota:\n    dev: {cpu: \"2\", memory: 4Gi}\n"),
	"businesses/team/namespaces/team-web.yaml":   accessDoc("Namespace", "team-web", "  business: team\n  cluster: dev\n"),
	"businesses/team/namespaces/team-prod.yaml":  accessDoc("Namespace", "team-prod", "  business: team\n  cluster: prod\n"),
	"businesses/other/namespaces/other-web.yaml": accessDoc("Namespace", "other-web", "  business: other\n  cluster: dev\n"),
	"access/users.yaml": accessDoc("User", "jane", "  displayName: Jane Doe\n  email: jane@example.com\n  mobile: \"+86 138 0013 8000\"\n  platformRole: administrator\n  initialPassword: {secret: {name: gitfleet-users, key: jane}}\n") +
		"---\n" + accessDoc("User", "ops-bot", "  policies: [view-clusters]\n") +
		"---\n" + accessDoc("User", "dev1", "  displayName: 开发者一号\n"),
	"access/groups.yaml": accessDoc("Group", "platform-ops", "  description: People who run the clusters\n  users: [jane, ops-bot]\n  platformRole: platformUser\n") +
		"---\n" + accessDoc("Group", "auditors", "  users: [dev1]\n  policies: [view-clusters]\n"),
	"access/policies.yaml": accessDoc("Policy", "view-clusters", "  displayName: View every cluster\n  service: platform\n  effect: allow\n  actions: [\"get*\", \"list*\", \"watch*\"]\n  resources: [\"cluster:*/*\"]\n") +
		"---\n" + accessDoc("Policy", "no-deletes", "  scope: business\n  effect: deny\n  actions: [\"name:deleteDeployment\", \"permid:workload-admin\", \"*\"]\n  resources: [\"cluster:cls-123/deployment:deploy-123/*\", \"cluster:a/namespace:b/deployment:c/pod:d/container:e/*\", \"*\"]\n  description: Business members may not delete workloads\n"),
	"helm/repos.yaml": accessDoc("HelmRepository", "team-charts", "  description: The team's charts\n  businesses: [team]\n") +
		"---\n" + accessDoc("HelmRepository", "bitnami", "  access: public\n  import:\n    url: https://charts.bitnami.com/bitnami\n") +
		"---\n" + accessDoc("HelmRepository", "private-mirror", "  type: HelmV3\n  access: users\n  users: [jane, dev1]\n  import:\n    url: http://charts.example.com:8080/stable\n    username: {env: GITFLEET_SECRET_CHARTS_USER}\n    password: {env: GITFLEET_SECRET_CHARTS_PASSWORD}\n"),
	"registry/namespaces.yaml": accessDoc("RegistryNamespace", "library", "  visibility: public\n  description: Base images for everyone\n") +
		"---\n" + accessDoc("RegistryNamespace", "jane", "  description: Jane's images\n"),
	"logging/rules.yaml": accessDoc("LogRule", "all-stdout", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer:\n    kafka: {address: \"10.0.0.5:9092\", topic: dev-logs}\n") +
		"---\n" + accessDoc("LogRule", "web-files", "  business: team\n  namespace: team-web\n  containerFile:\n    workload: {kind: Deployment, name: web}\n    container: nginx\n    paths: [/var/log/nginx/, /data/logdir/*.log]\n  consumer:\n    elasticsearch:\n      address: http://190.0.0.1:9200\n      index: team-web\n      esVersion: 7.5.1\n      username: {env: GITFLEET_SECRET_ES_USER}\n      password: {secret: {name: es, key: password}}\n") +
		"---\n" + accessDoc("LogRule", "node-syslog", "  cluster: prod\n  type: nodeFile\n  nodeFile:\n    paths: [\"/var/log/messages*\"]\n    metadata: {cluster: prod, source.kind: syslog}\n  consumer:\n    elasticsearch: {address: \"https://es.example.com\", index: \"node+syslog_v1\"}\n") +
		"---\n" + accessDoc("LogRule", "team-stdout", "  business: team\n  namespace: team-prod\n  stdout:\n    namespaces:\n    - name: team-prod\n      workloads: [{kind: TApp, name: api}, {kind: CronJob, name: report.daily}]\n  consumer: {kafka: {address: \"kafka.logging.svc:9092\", topic: team.logs}}\n"),
}

// accessFiles is the base repository with some files added or replaced.
func accessFiles(files map[string]string) map[string]string {
	return withFiles(accessBase, files)
}

// TestAccessValid loads one valid object of each access kind (several of some) and checks
// the defaults that were filled in.
func TestAccessValid(t *testing.T) {
	repo, err := Load(t.Context(), repoFS(accessBase))
	// Only this area's files are checked here, so that work on other kinds cannot break
	// this test; the base files of the other kinds are written to be valid too.
	for _, e := range AsErrorList(err) {
		if accessOwnFile(e.File) {
			t.Errorf("unexpected error: %v", e)
		} else {
			t.Logf("error in another area's file: %v", e)
		}
	}
	if repo == nil {
		t.Fatal("no repository")
	}
	if got, want := len(repo.Users)+len(repo.Groups)+len(repo.Policies)+len(repo.HelmRepositories)+len(repo.RegistryNamespaces)+len(repo.LogRules), 3+2+2+3+2+4; got != want {
		t.Fatalf("loaded %d access objects, want %d", got, want)
	}
	roles := map[string]PlatformRole{}
	for _, u := range repo.Users {
		roles["user/"+u.Metadata.Name] = u.Spec.PlatformRole
	}
	for _, g := range repo.Groups {
		roles["group/"+g.Metadata.Name] = g.Spec.PlatformRole
	}
	wantRoles := map[string]PlatformRole{
		"user/jane": PlatformRoleAdministrator, "user/ops-bot": PlatformRoleCustom, "user/dev1": PlatformRoleTenant,
		"group/platform-ops": PlatformRolePlatformUser, "group/auditors": PlatformRoleCustom,
	}
	if diff := cmp.Diff(wantRoles, roles); diff != "" {
		t.Errorf("platform roles (-want +got):\n%s", diff)
	}
	if p := byName(repo.Policies, "view-clusters"); p.Spec.Scope != PolicyScopePlatform {
		t.Errorf("default policy scope %q, want platform", p.Spec.Scope)
	}
	if h := byName(repo.HelmRepositories, "team-charts"); h.Spec.Access != HelmAccessBusinesses || h.Spec.Type != HelmRepositoryV3 {
		t.Errorf("helm defaults: access %q type %q, want businesses and HelmV3", h.Spec.Access, h.Spec.Type)
	}
	if n := byName(repo.RegistryNamespaces, "jane"); n.Spec.Visibility != RegistryPrivate {
		t.Errorf("default visibility %q, want private", n.Spec.Visibility)
	}
	web := byName(repo.LogRules, "web-files")
	if web.Spec.Type != LogContainerFileType || web.Spec.ContainerFile.Namespace != "team-web" {
		t.Errorf("log rule defaults: type %q namespace %q, want containerFile and team-web", web.Spec.Type, web.Spec.ContainerFile.Namespace)
	}
	if es := byName(repo.LogRules, "node-syslog").Spec.Consumer.Elasticsearch; es.ESVersion != ESVersion5 {
		t.Errorf("default esVersion %q, want %s", es.ESVersion, ESVersion5)
	}
	clusters := map[string]string{}
	for _, l := range repo.LogRules {
		clusters[l.Metadata.Name] = l.TargetCluster(repo)
	}
	if diff := cmp.Diff(map[string]string{"all-stdout": "dev", "web-files": "dev", "node-syslog": "prod", "team-stdout": "prod"}, clusters); diff != "" {
		t.Errorf("TargetCluster (-want +got):\n%s", diff)
	}
}

func accessOwnFile(file string) bool {
	for _, dir := range []string{"access/", "helm/", "registry/", "logging/"} {
		if strings.HasPrefix(file, dir) {
			return true
		}
	}
	return false
}

// TestAccessErrors checks every rule of the access kinds: each bad input is reported at
// its file, line and column with the field and an actionable message. Only the errors of
// each case's own files are compared.
func TestAccessErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "user account, display name, email and mobile",
			files: map[string]string{"access/x.yaml": accessDoc("User", "Jo", "  displayName: "+long(256)+"\n  email: jane.example.com\n  mobile: call me\n")},
			want: []string{
				`access/x.yaml:4:9: metadata.name: "Jo" is not a valid user account: use 3 to 32 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`access/x.yaml:6:16: spec.displayName: must be shorter than 256 characters (TKEStack's limit), found 256`,
				`access/x.yaml:7:10: spec.email: "jane.example.com" is not an email address; write it as NAME@DOMAIN, for example jane@example.com`,
				`access/x.yaml:8:11: spec.mobile: "call me" is not a phone number: use 5 to 20 digits, optionally starting with + and grouped with spaces or '-', for example +86 138 0013 8000`,
			},
		},
		{
			name:  "user account too long, mobile too short",
			files: map[string]string{"access/x.yaml": accessDoc("User", long(33), "  mobile: \"1234\"\n")},
			want: []string{
				`access/x.yaml:4:9: metadata.name: "` + long(33) + `" is not a valid user account: use 3 to 32 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`access/x.yaml:6:11: spec.mobile: "1234" is not a phone number: use 5 to 20 digits, optionally starting with + and grouped with spaces or '-', for example +86 138 0013 8000`,
			},
		},
		{
			name:  "user role typo",
			files: map[string]string{"access/x.yaml": accessDoc("User", "bob", "  platformRole: administrater\n")},
			want:  []string{`access/x.yaml:6:17: spec.platformRole: unknown platform role "administrater"; did you mean "administrator"?`},
		},
		{
			name:  "unknown user role",
			files: map[string]string{"access/x.yaml": accessDoc("User", "bob", "  platformRole: root\n")},
			want:  []string{`access/x.yaml:6:17: spec.platformRole: unknown platform role "root"; expected one of: administrator, platformUser, tenant, custom`},
		},
		{
			name:  "preset role with policies",
			files: map[string]string{"access/x.yaml": accessDoc("User", "bob", "  platformRole: tenant\n  policies: [view-clusters]\n")},
			want:  []string{`access/x.yaml:7:13: spec.policies: policies apply only to platformRole custom; tenant is a preset role with its own rights: remove spec.policies or set spec.platformRole: custom`},
		},
		{
			name:  "custom role without policies",
			files: map[string]string{"access/x.yaml": accessDoc("User", "bob", "  platformRole: custom\n")},
			want:  []string{`access/x.yaml:6:3: spec.policies: platformRole custom needs at least one platform Policy: list Policy names in spec.policies`},
		},
		{
			name:  "user policies: unknown, business-scoped, listed twice",
			files: map[string]string{"access/x.yaml": accessDoc("User", "bob", "  policies: [view-cluster, no-deletes, view-clusters, view-clusters]\n")},
			want: []string{
				`access/x.yaml:6:14: spec.policies[0]: no Policy named "view-cluster" in the repository (known: no-deletes, view-clusters)`,
				`access/x.yaml:6:28: spec.policies[1]: Policy "no-deletes" is a business policy (spec.scope: business); users and groups take platform policies only: grant it to business members in a Business's spec.members[].policies`,
				`access/x.yaml:6:55: spec.policies[3]: Policy "view-clusters" is listed twice`,
			},
		},
		{
			name:  "password written into the repository",
			files: map[string]string{"access/x.yaml": accessDoc("User", "bob", "  initialPassword: Secret12345\n")},
			want:  []string{`access/x.yaml:6:20: spec.initialPassword: a secret must not be written into the repository; refer to it instead: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`},
		},
		{
			name:  "password reference with two sources",
			files: map[string]string{"access/x.yaml": accessDoc("User", "bob", "  initialPassword: {env: BOB_PASSWORD, file: /run/secrets/bob}\n")},
			want:  []string{`access/x.yaml:6:20: spec.initialPassword: set exactly one of env, secret or file`},
		},
		{
			name:  "group name, description, users",
			files: map[string]string{"access/x.yaml": accessDoc("Group", long(60), "  description: "+long(255)+"\n  users: [jane, joe, jane]\n")},
			want: []string{
				`access/x.yaml:4:9: metadata.name: "` + long(60) + `" is not a valid group name: use fewer than 60 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`access/x.yaml:6:16: spec.description: must be shorter than 255 characters (TKEStack's limit), found 255`,
				`access/x.yaml:7:17: spec.users[1]: no User named "joe" in the repository (known: dev1, jane, ops-bot)`,
				`access/x.yaml:7:22: spec.users[2]: User "jane" is listed twice`,
			},
		},
		{
			name:  "group role and policies",
			files: map[string]string{"access/x.yaml": accessDoc("Group", "g-1", "  platformRole: Custom\n  policies: [nope]\n")},
			want: []string{
				`access/x.yaml:6:17: spec.platformRole: unknown platform role "Custom"; did you mean "custom"?`,
				`access/x.yaml:7:14: spec.policies[0]: no Policy named "nope" in the repository (known: no-deletes, view-clusters)`,
			},
		},
		{
			name:  "policy without effect, actions and resources",
			files: map[string]string{"access/x.yaml": accessDoc("Policy", "empty", "  description: nothing yet\n")},
			want: []string{
				`access/x.yaml:6:3: spec.actions: a Policy needs at least one action, for example "get*", "createCluster" or "*"`,
				`access/x.yaml:6:3: spec.effect: effect is required: allow or deny`,
				`access/x.yaml:6:3: spec.resources: a Policy needs at least one resource, for example "cluster:cls-123/*" or "*"`,
			},
		},
		{
			name:  "policy name, display name, scope, service and effect",
			files: map[string]string{"access/x.yaml": accessDoc("Policy", "View_All", "  displayName: "+long(256)+"\n  scope: tenant\n  service: Platform\n  effect: alow\n  actions: [\"*\"]\n  resources: [\"*\"]\n")},
			want: []string{
				`access/x.yaml:4:9: metadata.name: "View_All" is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`access/x.yaml:6:16: spec.displayName: must be shorter than 256 characters (TKEStack's limit), found 256`,
				`access/x.yaml:7:10: spec.scope: unknown policy scope "tenant"; expected one of: platform, business`,
				`access/x.yaml:8:12: spec.service: "Platform" is not a service name: use lowercase letters, digits and '-', for example platform, business or registry`,
				`access/x.yaml:9:11: spec.effect: unknown effect "alow"; did you mean "allow"?`,
			},
		},
		{
			name:  "policy actions",
			files: map[string]string{"access/x.yaml": accessDoc("Policy", "p", "  effect: allow\n  resources: [\"*\"]\n  actions:\n  - \"cvm:Describe*\"\n  - get cluster\n  - \"name:\"\n  - \"permid:cluster-admin\"\n")},
			want: []string{
				`access/x.yaml:9:5: spec.actions[0]: action "cvm:Describe*" has an unknown prefix "cvm"; write an API name (get*, createCluster, *), name:API or permid:PERMISSION-SET`,
				`access/x.yaml:10:5: spec.actions[1]: "get cluster" is not a valid action: use an API name of letters, digits, '_' and '-' with * as a wildcard (get*, createCluster, *), optionally prefixed name: (an API) or permid: (a permission set)`,
				`access/x.yaml:11:5: spec.actions[2]: "name:" is not a valid action: use an API name of letters, digits, '_' and '-' with * as a wildcard (get*, createCluster, *), optionally prefixed name: (an API) or permid: (a permission set)`,
			},
		},
		{
			name:  "policy resources",
			files: map[string]string{"access/x.yaml": accessDoc("Policy", "p", "  effect: deny\n  actions: [\"*\"]\n  resources:\n  - \"cluster:cls-1/*/deployment:web\"\n  - cluster\n  - \"a:1/b:2/c:3/d:4/e:5/f:6/*\"\n  - \"\"\n  - \"cluster:my cluster\"\n  - \"cluster:*/namespace:team-*/*\"\n")},
			want: []string{
				`access/x.yaml:9:5: spec.resources[0]: resource "cluster:cls-1/*/deployment:web": a lone * matches everything below it and can only be the last segment; write a path of kind:name segments with * as a wildcard, such as cluster:cls-123/deployment:deploy-123/*`,
				`access/x.yaml:10:5: spec.resources[1]: resource "cluster": segment "cluster" is not kind:name; write a path of kind:name segments with * as a wildcard, such as cluster:cls-123/deployment:deploy-123/*`,
				`access/x.yaml:11:5: spec.resources[2]: resource "a:1/b:2/c:3/d:4/e:5/f:6/*" has 7 segments; a resource has at most six (TKEStack's six-segment format)`,
				`access/x.yaml:12:5: spec.resources[3]: a resource must not be empty; write a path of kind:name segments with * as a wildcard, such as cluster:cls-123/deployment:deploy-123/*, or * for everything`,
				`access/x.yaml:13:5: spec.resources[4]: resource "cluster:my cluster": segment "cluster:my cluster" is not kind:name; write a path of kind:name segments with * as a wildcard, such as cluster:cls-123/deployment:deploy-123/*`,
			},
		},
		{
			name:  "helm repository name, type and description",
			files: map[string]string{"helm/x.yaml": accessDoc("HelmRepository", long(61), "  type: HelmV2\n  description: "+long(256)+"\n  access: public\n")},
			want: []string{
				`helm/x.yaml:4:9: metadata.name: "` + long(61) + `" is not a valid Helm repository name: use at most 60 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`helm/x.yaml:6:9: spec.type: unsupported repository type "HelmV2": TKEStack's Helm integration is Helm 3 only; set spec.type: HelmV3 or leave it out`,
				`helm/x.yaml:7:16: spec.description: must be at most 255 characters (TKEStack's limit), found 256`,
			},
		},
		{
			name: "helm repository access missing or misspelt",
			files: map[string]string{"helm/x.yaml": accessDoc("HelmRepository", "a", "  description: who knows\n") +
				"---\n" + accessDoc("HelmRepository", "b", "  access: user\n")},
			want: []string{
				`helm/x.yaml:6:3: spec.access: say who may use the repository: spec.access: public (every user), users (with spec.users) or businesses (with spec.businesses)`,
				`helm/x.yaml:13:11: spec.access: unknown access "user"; did you mean "users"?`,
			},
		},
		{
			name: "helm repository lists that do not fit the access",
			files: map[string]string{"helm/x.yaml": accessDoc("HelmRepository", "a", "  access: users\n  businesses: [team]\n") +
				"---\n" + accessDoc("HelmRepository", "b", "  users: [jane]\n  businesses: [team]\n")},
			want: []string{
				`helm/x.yaml:6:3: spec.users: access users needs at least one User: list User names in spec.users`,
				`helm/x.yaml:7:15: spec.businesses: spec.businesses applies only to access: businesses; remove it or set spec.access: businesses`,
				`helm/x.yaml:14:3: spec.access: say who may use the repository: spec.access: public (every user), users (with spec.users) or businesses (with spec.businesses)`,
				`helm/x.yaml:14:10: spec.users: spec.users applies only to access: users; remove it or set spec.access: users`,
				`helm/x.yaml:15:15: spec.businesses: spec.businesses applies only to access: businesses; remove it or set spec.access: businesses`,
			},
		},
		{
			name: "helm repository users and businesses that do not exist",
			files: map[string]string{"helm/x.yaml": accessDoc("HelmRepository", "a", "  users: [jane, janet]\n") +
				"---\n" + accessDoc("HelmRepository", "b", "  access: businesses\n  businesses: [team, teams, team]\n")},
			want: []string{
				`helm/x.yaml:6:17: spec.users[1]: no User named "janet" in the repository (known: dev1, jane, ops-bot)`,
				`helm/x.yaml:14:22: spec.businesses[1]: no Business named "teams" in the repository (known: other, team)`,
				`helm/x.yaml:14:29: spec.businesses[2]: Business "team" is listed twice`,
			},
		},
		{
			name: "helm repository import",
			files: map[string]string{"helm/x.yaml": accessDoc("HelmRepository", "a", "  access: public\n  import:\n    url: ftp://charts.example.com\n") +
				"---\n" + accessDoc("HelmRepository", "b", "  access: public\n  import:\n    url: https://robot:hunter2@charts.example.com\n    password: {env: GITFLEET_SECRET_CHARTS_PASSWORD}\n") +
				"---\n" + accessDoc("HelmRepository", "c", "  access: public\n  import:\n    username: robot\n") +
				"---\n" + accessDoc("HelmRepository", "d", "  access: public\n  import:\n    url: https://charts.example.com\n    username: {env: GITFLEET_SECRET_CHARTS_USER}\n")},
			want: []string{
				`helm/x.yaml:8:10: spec.import.url: "ftp://charts.example.com" is not an http or https URL such as https://charts.example.com`,
				`helm/x.yaml:17:10: spec.import.url: the address holds credentials, which must not be written into the repository; remove them and refer to them with username and password`,
				`helm/x.yaml:27:5: spec.import.url: required: the third-party repository's address, an http or https URL such as https://charts.example.com`,
				`helm/x.yaml:27:15: spec.import.username: a secret must not be written into the repository; refer to it instead: {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
				`helm/x.yaml:36:5: spec.import.password: required with a username: refer to the password with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
			},
		},
		{
			name:  "registry namespace",
			files: map[string]string{"registry/x.yaml": accessDoc("RegistryNamespace", "Library", "  visibility: internal\n") + "---\n" + accessDoc("RegistryNamespace", "pub", "  visibility: Public\n")},
			want: []string{
				`registry/x.yaml:4:9: metadata.name: "Library" is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`registry/x.yaml:6:15: spec.visibility: unknown visibility "internal"; expected one of: public, private`,
				`registry/x.yaml:13:15: spec.visibility: unknown visibility "Public"; did you mean "public"?`,
			},
		},
		{
			name: "log rule names",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "1-logs", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "logs-", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "a"+long(63), "  cluster: dev\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n")},
			want: []string{
				`logging/x.yaml:4:9: metadata.name: "1-logs" is not a valid log rule name: use 1 to 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`,
				`logging/x.yaml:13:9: metadata.name: "logs-" is not a valid log rule name: use 1 to 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`,
				`logging/x.yaml:22:9: metadata.name: "a` + long(63) + `" is not a valid log rule name: use 1 to 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`,
			},
		},
		{
			name:  "log rule without scope, source and consumer",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "empty", "  type: \"\"\n")},
			want: []string{
				`logging/x.yaml:6:3: spec: a LogRule needs a scope: spec.cluster for a platform rule, or spec.business and spec.namespace for a business rule`,
				`logging/x.yaml:6:3: spec: a LogRule needs a source: set spec.stdout (containers' standard output), spec.containerFile (files in a container) or spec.nodeFile (files on the nodes)`,
				`logging/x.yaml:6:3: spec.consumer: a LogRule needs a consumer: spec.consumer.kafka {address, topic} or spec.consumer.elasticsearch {address, index}`,
			},
		},
		{
			name: "log rule scopes",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "both", "  cluster: dev\n  business: team\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "platform", "  cluster: stage\n  namespace: team-web\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "no-business", "  namespace: team-web\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n")},
			want: []string{
				`logging/x.yaml:6:12: spec.cluster: set either spec.cluster (a platform rule) or spec.business with spec.namespace (a business rule), not both; a business rule runs on its namespace's cluster`,
				`logging/x.yaml:16:12: spec.cluster: no Cluster named "stage" in the repository (known: dev, prod)`,
				`logging/x.yaml:17:14: spec.namespace: spec.namespace belongs to business rules (with spec.business); a platform rule names the namespaces it collects from in its source`,
				`logging/x.yaml:26:3: spec.business: a rule with spec.namespace is a business rule and needs spec.business, the Business the namespace belongs to`,
			},
		},
		{
			name: "business log rule references",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "a", "  business: teem\n  namespace: team-web\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "b", "  business: team\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "c", "  business: team\n  namespace: team-dev\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "d", "  business: team\n  namespace: other-web\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n")},
			want: []string{
				`logging/x.yaml:6:13: spec.business: no Business named "teem" in the repository (known: other, team)`,
				`logging/x.yaml:16:3: spec.namespace: a business rule needs spec.namespace: the Namespace of Business "team" the rule belongs to, which decides its cluster`,
				`logging/x.yaml:26:14: spec.namespace: no Namespace named "team-dev" in the repository (known: team-prod, team-web)`,
				`logging/x.yaml:36:14: spec.namespace: Namespace "other-web" belongs to Business "other", not "team"; a business rule uses one of its own business's namespaces`,
			},
		},
		{
			name: "business log rule collects from other namespaces",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "a", "  business: team\n  namespace: team-web\n  stdout:\n    namespaces:\n    - name: other-web\n    - name: team-prod\n    - name: kube-system\n    - name: team-web\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "b", "  business: team\n  namespace: team-web\n  containerFile:\n    namespace: team-prod\n    workload: {kind: Deployment, name: web}\n    container: web\n    paths: [/var/log/]\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n")},
			want: []string{
				`logging/x.yaml:10:13: spec.stdout.namespaces[0].name: "other-web" is not a Namespace of Business "team" on cluster "dev"; a business rule collects only from its own namespaces (known: team-web)`,
				`logging/x.yaml:11:13: spec.stdout.namespaces[1].name: "team-prod" is not a Namespace of Business "team" on cluster "dev"; a business rule collects only from its own namespaces (known: team-web)`,
				`logging/x.yaml:12:13: spec.stdout.namespaces[2].name: "kube-system" is not a Namespace of Business "team" on cluster "dev"; a business rule collects only from its own namespaces (known: team-web)`,
				`logging/x.yaml:24:16: spec.containerFile.namespace: "team-prod" is not a Namespace of Business "team" on cluster "dev"; a business rule collects only from its own namespaces (known: team-web)`,
			},
		},
		{
			name: "log rule source type",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "a", "  cluster: dev\n  type: stdOut\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "b", "  cluster: dev\n  type: stdout\n  nodeFile: {paths: [/var/log/]}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "c", "  cluster: dev\n  stdout: {allContainers: true}\n  nodeFile: {paths: [/var/log/]}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n")},
			want: []string{
				`logging/x.yaml:7:9: spec.type: unknown log source type "stdOut"; did you mean "stdout"?`,
				`logging/x.yaml:15:3: spec.stdout: type stdout needs its settings in spec.stdout`,
				`logging/x.yaml:17:13: spec.nodeFile: spec.nodeFile does not apply to type stdout; remove it`,
				`logging/x.yaml:25:3: spec: a LogRule has one source: set only one of spec.stdout, spec.containerFile and spec.nodeFile`,
			},
		},
		{
			name: "stdout sources",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "a", "  cluster: dev\n  stdout: {allContainers: true, namespaces: [{name: web}]}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "b", "  cluster: dev\n  stdout: {}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "c", "  cluster: dev\n  stdout:\n    namespaces:\n    - name: Web\n    - workloads:\n      - {kind: deployment, name: web}\n      - {kind: ReplicaSet}\n    - name: web\n    - name: web\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n")},
			want: []string{
				`logging/x.yaml:7:45: spec.stdout.namespaces: allContainers: true already collects from every namespace; remove spec.stdout.namespaces or allContainers`,
				`logging/x.yaml:16:11: spec.stdout: choose the containers: allContainers: true, or namespaces (each with optional workloads)`,
				`logging/x.yaml:27:13: spec.stdout.namespaces[0].name: "Web" is not a valid namespace name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`logging/x.yaml:28:7: spec.stdout.namespaces[1].name: the namespace name is required`,
				`logging/x.yaml:29:16: spec.stdout.namespaces[1].workloads[0].kind: unknown workload kind "deployment"; did you mean "Deployment"?`,
				`logging/x.yaml:30:9: spec.stdout.namespaces[1].workloads[1].name: the workload name is required`,
				`logging/x.yaml:30:16: spec.stdout.namespaces[1].workloads[1].kind: unknown workload kind "ReplicaSet"; expected one of: Deployment, StatefulSet, DaemonSet, Job, CronJob, TApp`,
				`logging/x.yaml:32:13: spec.stdout.namespaces[3].name: namespace "web" is listed twice; list all its workloads under one entry`,
			},
		},
		{
			name: "container file source",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "a", "  cluster: dev\n  containerFile:\n    workload: {name: Web_1}\n    container: Nginx\n    paths:\n    - var/log/\n    - /var/*/app.log\n    - stdout\n    - /var//log/\n    - /var/log/../etc/passwd\n    - /"+long(62)+"/\n    - /var/log/"+long(64)+"\n    - /var/log/app/\n    - /var/log/app/\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
				"---\n" + accessDoc("LogRule", "b", "  cluster: dev\n  containerFile: {namespace: web}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n")},
			want: []string{
				`logging/x.yaml:8:5: spec.containerFile.namespace: the workload's namespace is required`,
				`logging/x.yaml:8:15: spec.containerFile.workload.kind: the workload kind is required: one of Deployment, StatefulSet, DaemonSet, Job, CronJob, TApp`,
				`logging/x.yaml:8:22: spec.containerFile.workload.name: "Web_1" is not a valid workload name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
				`logging/x.yaml:9:16: spec.containerFile.container: "Nginx" is not a valid container name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
				`logging/x.yaml:11:7: spec.containerFile.paths[0]: "var/log/" is not an absolute path: a path starts with /, for example /var/log/app/ (every file in the directory) or /var/log/app/*.log`,
				`logging/x.yaml:12:7: spec.containerFile.paths[1]: "/var/*/app.log" has * in a directory; the wildcard is allowed only in the file name, for example /var/log/app/*.log`,
				`logging/x.yaml:13:7: spec.containerFile.paths[2]: to collect standard output set spec.stdout (type stdout) instead of the path stdout`,
				`logging/x.yaml:14:7: spec.containerFile.paths[3]: "/var//log/" is not a clean path: remove empty, . and .. parts`,
				`logging/x.yaml:15:7: spec.containerFile.paths[4]: "/var/log/../etc/passwd" is not a clean path: remove empty, . and .. parts`,
				`logging/x.yaml:16:7: spec.containerFile.paths[5]: the directory "/` + long(62) + `/" has 64 characters; at most 63 are allowed`,
				`logging/x.yaml:17:7: spec.containerFile.paths[6]: the file name "` + long(64) + `" has 64 characters; at most 63 are allowed`,
				`logging/x.yaml:19:7: spec.containerFile.paths[8]: path "/var/log/app/" is listed twice`,
				`logging/x.yaml:28:18: spec.containerFile.container: the container whose files are collected is required`,
				`logging/x.yaml:28:18: spec.containerFile.paths: list at least one path, for example /var/log/app/ (every file in the directory) or /var/log/app/*.log`,
				`logging/x.yaml:28:18: spec.containerFile.workload: the workload is required: {kind: KIND, name: NAME}, where KIND is one of Deployment, StatefulSet, DaemonSet, Job, CronJob, TApp`,
			},
		},
		{
			name:  "node file source",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "a", "  cluster: dev\n  nodeFile:\n    metadata: {\"-bad\": x, \"a:b\": y, ok: z}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n")},
			want: []string{
				`logging/x.yaml:8:5: spec.nodeFile.paths: list at least one path, for example /var/log/app/ (every file in the directory) or /var/log/app/*.log`,
				`logging/x.yaml:8:24: spec.nodeFile.metadata.-bad: "-bad" is not a valid metadata key: use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
				`logging/x.yaml:8:34: spec.nodeFile.metadata.a:b: "a:b" is not a valid metadata key: use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
			},
		},
		{
			name: "kafka consumer",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "a", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5\", topic: \"my topic\"}}\n") +
				"---\n" + accessDoc("LogRule", "b", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:70000\"}}\n") +
				"---\n" + accessDoc("LogRule", "c", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer:\n    kafka: {address: \"kafka_1:9092\", topic: t}\n    elasticsearch: {address: \"http://es:9200\", index: logs}\n")},
			want: []string{
				`logging/x.yaml:8:31: spec.consumer.kafka.address: "10.0.0.5" is not a Kafka address; write IP:PORT or HOST:PORT, for example 10.0.0.5:9092`,
				`logging/x.yaml:8:50: spec.consumer.kafka.topic: "my topic" is not a valid Kafka topic: use at most 249 letters, digits, '.', '_' and '-'`,
				`logging/x.yaml:17:21: spec.consumer.kafka.topic: the Kafka topic is required`,
				`logging/x.yaml:17:31: spec.consumer.kafka.address: "10.0.0.5:70000" is not a Kafka address: the port is 1 to 65535; write IP:PORT or HOST:PORT, for example 10.0.0.5:9092`,
				`logging/x.yaml:27:5: spec.consumer: set only one of spec.consumer.kafka and spec.consumer.elasticsearch; a rule has one consumer`,
			},
		},
		{
			name: "elasticsearch consumer",
			files: map[string]string{"logging/x.yaml": accessDoc("LogRule", "a", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer:\n    elasticsearch: {address: \"190.0.0.1:9200\", index: Logs, esVersion: \"6\"}\n") +
				"---\n" + accessDoc("LogRule", "b", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer:\n    elasticsearch: {address: \"http://es:9200\", username: {env: GITFLEET_SECRET_ES_USER}}\n") +
				"---\n" + accessDoc("LogRule", "c", "  cluster: dev\n  stdout: {allContainers: true}\n  consumer:\n    elasticsearch: {address: \"https://elastic:changeme@es\", index: l"+long(60)+", esVersion: 7.5.1, password: {env: GITFLEET_SECRET_ES_PASSWORD}}\n")},
			want: []string{
				`logging/x.yaml:9:30: spec.consumer.elasticsearch.address: "190.0.0.1:9200" is not an http or https URL such as http://190.0.0.1:200`,
				`logging/x.yaml:9:55: spec.consumer.elasticsearch.index: "Logs" is not a valid index: use lowercase letters, digits, '-', '_' and '+', starting with a lowercase letter`,
				`logging/x.yaml:9:72: spec.consumer.elasticsearch.esVersion: unsupported Elasticsearch version "6"; TKEStack supports 5 (without authentication) and 7.5.1 (with an optional username and password)`,
				`logging/x.yaml:19:20: spec.consumer.elasticsearch.index: required: the Elasticsearch index to write to (TKEStack: you must fill in address and index)`,
				`logging/x.yaml:19:58: spec.consumer.elasticsearch.username: Elasticsearch 5 is supported only without authentication; set esVersion: 7.5.1 to log in with a username and password`,
				`logging/x.yaml:29:20: spec.consumer.elasticsearch.username: required with a password: refer to the username with {env: VARIABLE}, {secret: {name: NAME, key: KEY}} or {file: PATH}`,
				`logging/x.yaml:29:30: spec.consumer.elasticsearch.address: the address holds credentials, which must not be written into the repository; remove them and refer to them with username and password`,
				`logging/x.yaml:29:68: spec.consumer.elasticsearch.index: an index has at most 60 characters, found 61`,
			},
		},
		{
			name: "cluster without the LogAgent addon",
			files: map[string]string{
				"clusters/bare.yaml":      "apiVersion: gitfleet.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: bare\n",
				"businesses/solo.yaml":    accessDoc("Business", "solo", "  quota:\n    bare: {cpu: \"1\", memory: 1Gi}\n"),
				"businesses/solo/ns.yaml": accessDoc("Namespace", "solo-web", "  business: solo\n  cluster: bare\n"),
				"logging/x.yaml": accessDoc("LogRule", "a", "  cluster: bare\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n") +
					"---\n" + accessDoc("LogRule", "b", "  business: solo\n  namespace: solo-web\n  stdout: {allContainers: true}\n  consumer: {kafka: {address: \"10.0.0.5:9092\", topic: t}}\n"),
			},
			want: []string{
				`logging/x.yaml:6:12: spec.cluster: cluster "bare" has no LogAgent Addon, so the rule would collect nothing: add an Addon with type: LogAgent that targets the cluster (TKEStack: enable log collection in the cluster's basic information)`,
				`logging/x.yaml:16:14: spec.namespace: cluster "bare" has no LogAgent Addon, so the rule would collect nothing: add an Addon with type: LogAgent that targets the cluster (TKEStack: enable log collection in the cluster's basic information)`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(t.Context(), repoFS(accessFiles(tc.files)))
			var got []string
			for _, e := range AsErrorList(err) {
				if _, ok := tc.files[e.File]; ok {
					got = append(got, e.Error())
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckUserPassword(t *testing.T) {
	cases := []struct {
		password, want string
	}{
		{"Abcdefgh12", ""},
		{"Abcdefghijklmn16", ""},
		{"Abcdefg12", "a password has 10 to 16 characters, this one has 9"},
		{"Abcdefghijklmno17", "a password has 10 to 16 characters, this one has 17"},
		{"abcdefgh12", "a password must contain upper-case and lower-case letters and digits; this one has no upper-case letter"},
		{"ABCDEFGHIJ", "a password must contain upper-case and lower-case letters and digits; this one has no lower-case letter, no digit"},
	}
	for _, tc := range cases {
		var got string
		if err := CheckUserPassword(tc.password); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckUserPassword(%q) = %q, want %q", tc.password, got, tc.want)
		}
	}
}
