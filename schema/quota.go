package schema

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
)

// Resource names follow Kubernetes (pkg/apis/core/helper and validation of v1.37): a name
// without a domain must be one of the standard names below; a name with a domain
// (requests.nvidia.com/gpu, tencent.com/vcuda-core, count/deployments.apps,
// gold.storageclass.storage.k8s.io/requests.storage) must be a qualified name, which the
// apimachinery label-key rule checks (content.IsLabelKey is Kubernetes' IsQualifiedName).

// standardQuotaResources are the names without a domain that a ResourceQuota accepts,
// besides hugepages-<size> and requests.hugepages-<size>.
var standardQuotaResources = map[string]bool{
	"cpu": true, "memory": true, "ephemeral-storage": true,
	"requests.cpu": true, "requests.memory": true, "requests.storage": true, "requests.ephemeral-storage": true,
	"limits.cpu": true, "limits.memory": true, "limits.ephemeral-storage": true,
	"pods": true, "resourcequotas": true, "services": true, "replicationcontrollers": true,
	"secrets": true, "persistentvolumeclaims": true, "configmaps": true,
	"services.nodeports": true, "services.loadbalancers": true,
}

// countedQuotaResources are object counts: whole numbers.
var countedQuotaResources = map[string]bool{
	"pods": true, "resourcequotas": true, "services": true, "replicationcontrollers": true,
	"secrets": true, "persistentvolumeclaims": true, "configmaps": true,
	"services.nodeports": true, "services.loadbalancers": true,
}

// standardContainerResources are the names without a domain a container (and so a
// LimitRange) may set, besides hugepages-<size>.
var standardContainerResources = map[string]bool{"cpu": true, "memory": true, "ephemeral-storage": true}

// Likely meanings of names people write that Kubernetes does not know.
var (
	quotaHints = map[string]string{
		"gpu":          "requests.nvidia.com/gpu",
		"vcuda-core":   "tencent.com/vcuda-core",
		"vcuda-memory": "tencent.com/vcuda-memory",
		"storage":      "requests.storage",
	}
	containerHints = map[string]string{
		"gpu":          "nvidia.com/gpu",
		"vcuda-core":   "tencent.com/vcuda-core",
		"vcuda-memory": "tencent.com/vcuda-memory",
	}
)

// QuotaResourceName is the name under which gitfleet counts a quota resource when it adds
// quotas up (quota nesting), and the name under which Kubernetes enforces it:
//   - cpu, memory, ephemeral-storage and hugepages-<size> are the same limits as
//     requests.cpu, requests.memory, requests.ephemeral-storage and
//     requests.hugepages-<size> (a ResourceQuota treats the bare name as the request), so
//     a business quota of cpu: 20 and a namespace quota of requests.cpu: 8 add up;
//   - an extended resource (nvidia.com/gpu, tencent.com/vcuda-core) counts as
//     requests.<name>: Kubernetes enforces a quota on an extended resource only under that
//     name, so renderers should write it so;
//   - limits.* stay separate: a limit is another quantity than a request;
//   - object counts are not aliased (pods counts the pods that have not finished,
//     count/pods every pod).
func QuotaResourceName(name string) string {
	switch {
	case name == "cpu" || name == "memory" || name == "ephemeral-storage" || strings.HasPrefix(name, "hugepages-"):
		return "requests." + name
	case isExtendedResource(name):
		return "requests." + name
	}
	return name
}

// isExtendedResource reports names such as nvidia.com/gpu: with a domain outside
// kubernetes.io, and neither a request/limit form, an object count nor a storage class's.
func isExtendedResource(name string) bool {
	prefix, _, ok := strings.Cut(name, "/")
	return ok && !strings.Contains(name, "kubernetes.io/") &&
		!strings.HasPrefix(name, "requests.") && !strings.HasPrefix(name, "limits.") &&
		prefix != "count" && !strings.HasSuffix(prefix, ".storageclass.storage.k8s.io")
}

// wholeQuotaResource reports quota resources counted in whole numbers: object counts and
// every resource with a domain outside kubernetes.io (GPUs and other devices, as in
// Kubernetes; gitfleet also counts requests.nvidia.com/gpu and the like in whole numbers,
// since the seed allows only whole GPUs and natural numbers of vcuda units).
func wholeQuotaResource(canonical string) bool {
	return countedQuotaResources[canonical] || (strings.Contains(canonical, "/") && !strings.Contains(canonical, "kubernetes.io/"))
}

const qualifiedResourceName = "write a name such as cpu or requests.memory, or a domain, '/' and a name such as requests.nvidia.com/gpu (letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"

// quotaResourceProblem says what is wrong with a ResourceQuota resource name, or "".
func quotaResourceProblem(name string) string {
	if len(content.IsLabelKey(name)) > 0 {
		return fmt.Sprintf("%q is not a valid resource name: %s", name, qualifiedResourceName)
	}
	if strings.Contains(name, "/") {
		return ""
	}
	if standardQuotaResources[name] {
		return ""
	}
	for _, p := range []string{"hugepages-", "requests.hugepages-"} {
		if size, ok := strings.CutPrefix(name, p); ok {
			return hugePageProblem(name, size)
		}
	}
	return unknownResource("quota resource", name, sortedKeys(standardQuotaResources), quotaHints,
		"hugepages-<size>, or a name with a domain such as requests.nvidia.com/gpu, tencent.com/vcuda-core or count/deployments.apps")
}

// containerResourceProblem says what is wrong with a container (LimitRange) resource name,
// or "".
func containerResourceProblem(name string) string {
	if len(content.IsLabelKey(name)) > 0 {
		return fmt.Sprintf("%q is not a valid resource name: %s", name, qualifiedResourceName)
	}
	if !strings.Contains(name, "/") {
		if standardContainerResources[name] {
			return ""
		}
		if size, ok := strings.CutPrefix(name, "hugepages-"); ok {
			return hugePageProblem(name, size)
		}
		return unknownResource("container resource", name, sortedKeys(standardContainerResources), containerHints,
			"hugepages-<size>, or an extended resource such as nvidia.com/gpu or tencent.com/vcuda-core")
	}
	if strings.Contains(name, "kubernetes.io/") {
		return ""
	}
	if rest, ok := strings.CutPrefix(name, "requests."); ok {
		return fmt.Sprintf("%q: a LimitRange names a resource without the requests. prefix of quotas; write %s", name, rest)
	}
	if len(content.IsLabelKey("requests."+name)) > 0 {
		return fmt.Sprintf("%q is not a valid extended resource name: its domain must leave room for the requests. prefix of quotas", name)
	}
	return ""
}

func hugePageProblem(name, size string) string {
	if q, err := resource.ParseQuantity(size); err != nil || q.Sign() <= 0 {
		return fmt.Sprintf("%q: the huge page size %q is not a size such as 2Mi or 1Gi", name, size)
	}
	return ""
}

func unknownResource(what, name string, valid []string, hints map[string]string, others string) string {
	if hint, ok := hints[name]; ok {
		return fmt.Sprintf("unknown %s %q; did you mean %q?", what, name, hint)
	}
	msg := unknownName(what, name, valid)
	if strings.HasSuffix(msg, "?") {
		return msg
	}
	return msg + ", " + others
}

// validateQuantity checks one quantity of a quota or limit range.
func validateQuantity(o Origin, field, name string, whole bool, q resource.Quantity) ErrorList {
	if q.Sign() < 0 {
		return ErrorList{o.Errorf(field, "must not be negative, found %s", q.String())}
	}
	if whole && !isWhole(q) {
		// As a decimal ("1.5"), the way people write it, not Kubernetes' "1500m".
		return ErrorList{o.Errorf(field, "%s is counted in whole numbers, found %s", name, q.AsDec().String())}
	}
	return nil
}

func isWhole(q resource.Quantity) bool { return ratOf(q).IsInt() }

// validateQuotaList checks the resources of a quota (a business's on one cluster, or a
// namespace's): Kubernetes ResourceQuota names, non-negative quantities, whole numbers for
// counts and devices, and no resource set twice under two aliases.
func validateQuotaList(o Origin, field string, rl ResourceList) ErrorList {
	var errs ErrorList
	byCanonical := map[string]string{}
	for _, name := range sortedKeys(rl) {
		f := field + "." + name
		if msg := quotaResourceProblem(name); msg != "" {
			errs = append(errs, o.Errorf(f, "%s", msg))
			continue
		}
		canonical := QuotaResourceName(name)
		if prev, dup := byCanonical[canonical]; dup {
			errs = append(errs, o.Errorf(f, "%s and %s are the same limit (both count as %s); set only one of them", prev, name, canonical))
		} else {
			byCanonical[canonical] = name
		}
		errs = append(errs, validateQuantity(o, f, name, wholeQuotaResource(canonical), rl[name])...)
	}
	return errs
}

// validateLimitRange applies Kubernetes' LimitRange rules for containers: min ≤
// defaultRequest ≤ default ≤ max wherever both sides are set, and for resources that
// cannot be overcommitted (huge pages, devices) default equal to defaultRequest.
func validateLimitRange(o Origin, field string, lr *LimitRange) ErrorList {
	if lr == nil {
		return nil
	}
	var errs ErrorList
	parts := []struct {
		name string
		rl   ResourceList
	}{{"min", lr.Min}, {"max", lr.Max}, {"default", lr.Default}, {"defaultRequest", lr.DefaultRequest}}
	keys := map[string]bool{}
	for _, p := range parts {
		for _, name := range sortedKeys(p.rl) {
			f := field + "." + p.name + "." + name
			if msg := containerResourceProblem(name); msg != "" {
				errs = append(errs, o.Errorf(f, "%s", msg))
				continue
			}
			keys[name] = true
			errs = append(errs, validateQuantity(o, f, name, isDevice(name), p.rl[name])...)
		}
	}
	for _, name := range sortedKeys(keys) {
		at := func(part string) string { return field + "." + part + "." + name }
		min, hasMin := lr.Min[name]
		max, hasMax := lr.Max[name]
		def, hasDef := lr.Default[name]
		req, hasReq := lr.DefaultRequest[name]
		if hasMin && hasMax && min.Cmp(max) > 0 {
			errs = append(errs, o.Errorf(at("min"), "min %s is more than max %s for %s; lower min or raise max", min.String(), max.String(), name))
		}
		if hasReq && hasMin && req.Cmp(min) < 0 {
			errs = append(errs, o.Errorf(at("defaultRequest"), "defaultRequest %s is below min %s for %s; it must lie between min and max", req.String(), min.String(), name))
		}
		if hasReq && hasMax && req.Cmp(max) > 0 {
			errs = append(errs, o.Errorf(at("defaultRequest"), "defaultRequest %s is above max %s for %s; it must lie between min and max", req.String(), max.String(), name))
		}
		if hasReq && hasDef && req.Cmp(def) > 0 {
			errs = append(errs, o.Errorf(at("defaultRequest"), "defaultRequest %s is more than default %s for %s; a container's default limit must be at least its default request", req.String(), def.String(), name))
		}
		if hasDef && hasMin && def.Cmp(min) < 0 {
			errs = append(errs, o.Errorf(at("default"), "default %s is below min %s for %s; it must lie between min and max", def.String(), min.String(), name))
		}
		if hasDef && hasMax && def.Cmp(max) > 0 {
			errs = append(errs, o.Errorf(at("default"), "default %s is above max %s for %s; it must lie between min and max", def.String(), max.String(), name))
		}
		if (isDevice(name) || strings.HasPrefix(name, "hugepages-")) && hasDef && hasReq && def.Cmp(req) != 0 {
			errs = append(errs, o.Errorf(at("defaultRequest"), "%s cannot be overcommitted, so defaultRequest (%s) must equal default (%s)", name, req.String(), def.String()))
		}
	}
	return errs
}

// isDevice reports a container resource with a domain outside kubernetes.io (GPUs and
// other devices): whole numbers, never overcommitted.
func isDevice(name string) bool {
	return strings.Contains(name, "/") && !strings.Contains(name, "kubernetes.io/")
}

// claim is what one child business, namespace or top-level business asks for of one
// resource on one cluster.
type claim struct {
	kind string // "child", "namespace" or "business"
	name string
	q    resource.Quantity
}

// quotaTree answers how much of a resource a business asks for on a cluster. A business
// that limits the resource there asks for its quota; one that does not (it may be
// unlimited, as TKEStack allows) asks for what its children and namespaces ask for, so an
// unlimited level in the middle hides no overcommitment from the levels above it.
type quotaTree struct {
	children   map[string][]*Business
	namespaces map[string][]*Namespace
}

func (r *Repo) quotaTree() *quotaTree {
	t := &quotaTree{children: map[string][]*Business{}, namespaces: map[string][]*Namespace{}}
	for _, b := range r.Businesses {
		if b.Spec.Parent != "" && r.rooted(b) {
			t.children[b.Spec.Parent] = append(t.children[b.Spec.Parent], b)
		}
	}
	for _, n := range r.Namespaces {
		t.namespaces[n.Spec.Business] = append(t.namespaces[n.Spec.Business], n)
	}
	return t
}

// lookupQuota finds the valid, non-negative entry of a quota that counts as the canonical
// resource.
func lookupQuota(rl ResourceList, canonical string) (string, resource.Quantity, bool) {
	for _, name := range sortedKeys(rl) {
		q := rl[name]
		if QuotaResourceName(name) == canonical && quotaResourceProblem(name) == "" && q.Sign() >= 0 {
			return name, q, true
		}
	}
	return "", resource.Quantity{}, false
}

// asks is what business b asks for of a resource on a cluster; false when it asks for
// nothing (no quota there, or neither it nor anything under it limits the resource).
func (t *quotaTree) asks(b *Business, cluster, canonical string) (resource.Quantity, bool) {
	entry, ok := b.Spec.Quota[cluster]
	if !ok {
		return resource.Quantity{}, false
	}
	if _, q, ok := lookupQuota(entry, canonical); ok {
		return q, true
	}
	claims := t.claims(b, cluster, canonical)
	if len(claims) == 0 {
		return resource.Quantity{}, false
	}
	return sumClaims(claims), true
}

// claims lists what b's children and b's namespaces on the cluster ask for, children
// first, each sorted by name.
func (t *quotaTree) claims(b *Business, cluster, canonical string) []claim {
	var out []claim
	for _, c := range t.children[b.Metadata.Name] {
		if q, ok := t.asks(c, cluster, canonical); ok {
			out = append(out, claim{"child", c.Metadata.Name, q})
		}
	}
	for _, n := range t.namespaces[b.Metadata.Name] {
		if n.Spec.Cluster != cluster {
			continue
		}
		if _, q, ok := lookupQuota(n.Spec.Quota, canonical); ok {
			out = append(out, claim{"namespace", n.Metadata.Name, q})
		}
	}
	return out
}

func sumClaims(claims []claim) resource.Quantity {
	total := claims[0].q.DeepCopy()
	for _, c := range claims[1:] {
		total.Add(c.q)
	}
	return total
}

func describeClaims(claims []claim) string {
	parts := make([]string, len(claims))
	for i, c := range claims {
		parts[i] = fmt.Sprintf("%s %q %s", c.kind, c.name, c.q.String())
	}
	return strings.Join(parts, ", ")
}

// quotaNesting applies DESIGN.md's rule (the seed leaves it open): on each cluster, for
// each resource, what a business's child businesses and its namespaces there ask for adds
// up to no more than its own quota, and what the top-level businesses ask for adds up to no
// more than the cluster's capacity times its overcommit ratio, for each resource the
// cluster declares. Resources are matched by QuotaResourceName. A namespace without a
// quota for a resource asks for nothing of it.
func (r *Repo) quotaNesting() ErrorList {
	t := r.quotaTree()
	var errs ErrorList
	for _, b := range r.Businesses {
		if !r.rooted(b) {
			continue // a broken hierarchy is reported at spec.parent.
		}
		for _, cluster := range sortedKeys(b.Spec.Quota) {
			if r.Cluster(cluster) == nil {
				continue
			}
			entry := b.Spec.Quota[cluster]
			done := map[string]bool{}
			for _, name := range sortedKeys(entry) {
				canonical := QuotaResourceName(name)
				limit := entry[name]
				if done[canonical] || quotaResourceProblem(name) != "" || limit.Sign() < 0 {
					continue
				}
				done[canonical] = true
				claims := t.claims(b, cluster, canonical)
				if len(claims) == 0 {
					continue
				}
				total := sumClaims(claims)
				if total.Cmp(limit) <= 0 {
					continue
				}
				errs = append(errs, b.Origin.Errorf("spec.quota."+cluster+"."+name,
					"%s of business %q ask for %s %s on cluster %s, more than its quota of %s (%s)",
					claimants(claims), b.Metadata.Name, total.String(), name, cluster, limit.String(), describeClaims(claims)).
					WithQuota(QuotaOverrun{Cluster: cluster, Resource: name, Asked: total.String(), Available: limit.String()}))
			}
		}
	}
	for _, c := range r.Clusters {
		errs = append(errs, t.capacity(r, c)...)
	}
	return errs
}

func claimants(claims []claim) string {
	var children, namespaces bool
	for _, c := range claims {
		children = children || c.kind == "child"
		namespaces = namespaces || c.kind == "namespace"
	}
	switch {
	case children && namespaces:
		return "children and namespaces"
	case children:
		return "children"
	default:
		return "namespaces"
	}
}

// CapacityProblems checks, for the named clusters, that the top-level businesses fit in
// the cluster's capacity times its overcommit ratio. Load checks declared capacities
// itself; this is for capacities filled in afterwards from what the machine checks
// measured (spec.capacity absent, spec.capacityMeasured set).
func (r *Repo) CapacityProblems(clusters []string) ErrorList {
	t := r.quotaTree()
	var errs ErrorList
	for _, name := range clusters {
		if c := r.Cluster(name); c != nil {
			errs = append(errs, t.capacity(r, c)...)
		}
	}
	errs.Sort()
	return errs
}

// capacity checks that the top-level businesses fit in a cluster's declared capacity times
// its overcommit ratio (0, the unset value, means 1). A cluster without a capacity is not
// checked.
func (t *quotaTree) capacity(r *Repo, c *Cluster) ErrorList {
	if len(c.Spec.Capacity) == 0 {
		return nil
	}
	overcommit := c.Spec.Overcommit
	if overcommit <= 0 || math.IsNaN(overcommit) || math.IsInf(overcommit, 0) {
		overcommit = 1
	}
	var errs ErrorList
	done := map[string]bool{}
	for _, name := range sortedKeys(c.Spec.Capacity) {
		canonical := QuotaResourceName(name)
		capacity := c.Spec.Capacity[name]
		if done[canonical] || capacity.Sign() < 0 {
			continue
		}
		done[canonical] = true
		var claims []claim
		for _, b := range r.Businesses {
			if b.Spec.Parent != "" {
				continue
			}
			if q, ok := t.asks(b, c.Metadata.Name, canonical); ok {
				claims = append(claims, claim{"business", b.Metadata.Name, q})
			}
		}
		if len(claims) == 0 {
			continue
		}
		total := sumClaims(claims)
		limit := new(big.Rat).Mul(ratOf(capacity), new(big.Rat).SetFloat64(overcommit))
		if ratOf(total).Cmp(limit) <= 0 {
			continue
		}
		available := capacity.String()
		of := available
		if overcommit != 1 {
			available = formatRat(limit, capacity.Format)
			of += fmt.Sprintf(" × overcommit %s = %s", strconv.FormatFloat(overcommit, 'f', -1, 64), available)
		}
		field := "spec.capacity." + name
		if c.Spec.CapacityMeasured {
			// No line to point at: the capacity is what the machines have.
			field = "spec.machines"
			of += fmt.Sprintf(", measured on its machines (status/clusters/%s.yaml)", c.Metadata.Name)
		}
		errs = append(errs, c.Origin.Errorf(field,
			"top-level businesses ask for %s %s on cluster %s, more than its capacity of %s (%s)",
			total.String(), name, c.Metadata.Name, of, describeClaims(claims)).
			WithQuota(QuotaOverrun{Cluster: c.Metadata.Name, Resource: name, Asked: total.String(), Available: available}))
	}
	return errs
}

// ratOf is a quantity as an exact fraction.
func ratOf(q resource.Quantity) *big.Rat {
	r, ok := new(big.Rat).SetString(q.AsDec().String())
	if !ok {
		return new(big.Rat)
	}
	return r
}

// formatRat writes a fraction as a quantity in the given format where it fits, else as a
// decimal number.
func formatRat(r *big.Rat, format resource.Format) string {
	milli := new(big.Rat).Mul(r, big.NewRat(1000, 1))
	if milli.IsInt() && milli.Num().IsInt64() {
		m := milli.Num().Int64()
		if m%1000 == 0 {
			return resource.NewQuantity(m/1000, format).String()
		}
		return resource.NewMilliQuantity(m, format).String()
	}
	return strings.TrimRight(strings.TrimRight(r.FloatString(3), "0"), ".")
}
