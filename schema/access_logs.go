package schema

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// LogRule is a log-collection rule (TKEStack's 日志采集 rule) run by the LogAgent addon of
// its cluster: what to collect (containers' standard output, files in a container, files
// on the nodes) and where to send it (Kafka or Elasticsearch). A platform rule names its
// cluster; a business rule names its business and one of the business's namespaces, whose
// cluster it runs on. metadata.name: 1 to 63 lowercase letters, digits and '-', starting
// with a letter and ending with a letter or digit.
type LogRule struct {
	Object `yaml:",inline" json:",inline"`
	Spec   LogRuleSpec `yaml:"spec" json:"spec"`
}

// LogRuleSpec is the specification of a LogRule. Exactly one of Stdout, ContainerFile and
// NodeFile is set; Type names it and may be left out.
type LogRuleSpec struct {
	// Cluster makes this a platform rule (平台管理侧) on the named cluster.
	Cluster string `yaml:"cluster,omitempty" json:"cluster,omitempty"`
	// Business and Namespace make this a business rule (业务管理侧): Namespace is a
	// Namespace of the Business, and the rule runs on that Namespace's cluster. A
	// business rule collects only from the business's namespaces on that cluster.
	Business  string `yaml:"business,omitempty" json:"business,omitempty"`
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Type is stdout, containerFile or nodeFile; by default the one whose settings are
	// given.
	Type LogSourceType `yaml:"type,omitempty" json:"type,omitempty"`
	// Stdout collects containers' standard output and standard error (容器标准输出).
	Stdout *LogStdout `yaml:"stdout,omitempty" json:"stdout,omitempty"`
	// ContainerFile collects files inside one container of one workload (容器文件路径).
	ContainerFile *LogContainerFile `yaml:"containerFile,omitempty" json:"containerFile,omitempty"`
	// NodeFile collects files on every node of the cluster (节点文件路径).
	NodeFile *LogNodeFile `yaml:"nodeFile,omitempty" json:"nodeFile,omitempty"`
	// Consumer is where the collected logs are sent; the cluster's nodes must reach it.
	Consumer LogConsumer `yaml:"consumer" json:"consumer"`
}

// LogSourceType is what a LogRule collects.
type LogSourceType string

const (
	LogStdoutType        LogSourceType = "stdout"
	LogContainerFileType LogSourceType = "containerFile"
	LogNodeFileType      LogSourceType = "nodeFile"
)

// LogStdout selects containers whose standard output is collected: all of them, or those
// of the listed namespaces (all containers of a namespace, or of its listed workloads).
type LogStdout struct {
	// AllContainers collects from every container (所有容器); for a business rule, every
	// container in the business's namespaces on the rule's cluster.
	AllContainers bool `yaml:"allContainers,omitempty" json:"allContainers,omitempty"`
	// Namespaces are the namespaces to collect from (指定容器).
	Namespaces []LogNamespace `yaml:"namespaces,omitempty" json:"namespaces,omitempty"`
}

// LogNamespace is a namespace whose containers' output is collected.
type LogNamespace struct {
	Name string `yaml:"name" json:"name"`
	// Workloads limits collection to these workloads; empty means every container of
	// the namespace.
	Workloads []LogWorkload `yaml:"workloads,omitempty" json:"workloads,omitempty"`
}

// LogWorkload is a workload by kind and name.
type LogWorkload struct {
	// Kind is Deployment, StatefulSet, DaemonSet, Job, CronJob or TApp.
	Kind string `yaml:"kind" json:"kind"`
	Name string `yaml:"name" json:"name"`
}

// LogContainerFile collects files inside a container. The files must be on a volume, or
// LogAgent cannot read them.
type LogContainerFile struct {
	// Namespace is the workload's namespace; a business rule defaults it to its own
	// spec.namespace.
	Namespace string      `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Workload  LogWorkload `yaml:"workload" json:"workload"`
	// Container is the container of the workload's pods whose files are collected.
	Container string `yaml:"container" json:"container"`
	// Paths are the files: a directory (starting and ending with /, every file in it) or
	// a directory followed by a file name, in which * is a wildcard:
	// /var/log/app/ or /var/log/app/*.log. The directory and the file name have at most
	// 63 characters each; * is not allowed in directories.
	Paths []string `yaml:"paths" json:"paths"`
}

// LogNodeFile collects files on the nodes. LogAgent remembers how far it has read each
// file and collects only new lines.
type LogNodeFile struct {
	// Paths are as for LogContainerFile, on the node's file system.
	Paths []string `yaml:"paths" json:"paths"`
	// Metadata are key: value pairs added to every record.
	Metadata map[string]string `yaml:"metadata,omitempty" json:"metadata,omitempty"`
}

// LogConsumer is where logs go: exactly one of Kafka and Elasticsearch.
type LogConsumer struct {
	Kafka *LogKafka `yaml:"kafka,omitempty" json:"kafka,omitempty"`
	// Elasticsearch is written as for the PersistentEvent and Audit addons: address,
	// index (required here), esVersion 5 (the default, without login) or 7.5.1 (with an
	// optional username and password, by reference).
	Elasticsearch *Elasticsearch `yaml:"elasticsearch,omitempty" json:"elasticsearch,omitempty"`
}

// LogKafka sends logs to a Kafka topic.
type LogKafka struct {
	// Address is the broker's HOST:PORT, for example 10.0.0.5:9092.
	Address string `yaml:"address" json:"address"`
	Topic   string `yaml:"topic" json:"topic"`
}

var (
	logRuleName     = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	logKafkaTopic   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	logMetadataKey  = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	logSourceTypes  = []string{string(LogStdoutType), string(LogContainerFileType), string(LogNodeFileType)}
	logWorkloadKind = []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "TApp"}
)

// logMaxPathPart is the seed's limit on a log path's directory and on its file name.
const logMaxPathPart = 63

// TargetCluster is the name of the cluster the rule runs on: its spec.cluster, or for a
// business rule the cluster of its namespace. It is "" when that is not known.
func (l *LogRule) TargetCluster(r *Repo) string {
	if l.Spec.Cluster != "" {
		return l.Spec.Cluster
	}
	if ns := byName(r.Namespaces, l.Spec.Namespace); ns != nil && l.Spec.Business != "" && ns.Spec.Business == l.Spec.Business {
		return ns.Spec.Cluster
	}
	return ""
}

func (l *LogRule) setDefaults() {
	s := &l.Spec
	if s.Type == "" {
		var types []LogSourceType
		if s.Stdout != nil {
			types = append(types, LogStdoutType)
		}
		if s.ContainerFile != nil {
			types = append(types, LogContainerFileType)
		}
		if s.NodeFile != nil {
			types = append(types, LogNodeFileType)
		}
		if len(types) == 1 {
			s.Type = types[0]
		}
	}
	if cf := s.ContainerFile; cf != nil && cf.Namespace == "" && s.Business != "" {
		cf.Namespace = s.Namespace
	}
	if es := s.Consumer.Elasticsearch; es != nil && es.ESVersion == "" {
		es.ESVersion = ESVersion5
	}
}

func (l *LogRule) validate(r *Repo) ErrorList {
	o := l.Origin
	var errs ErrorList
	switch name := l.Metadata.Name; {
	case name == "":
		errs = append(errs, o.Errorf("metadata.name", "name is required: 1 to 63 lowercase letters, digits and '-', starting with a letter"))
	case len(name) > 63 || !logRuleName.MatchString(name):
		errs = append(errs, o.Errorf("metadata.name", "%q is not a valid log rule name: use 1 to 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit", name))
	}
	cluster, scopeErrs := l.checkScope(r)
	errs = append(errs, scopeErrs...)
	errs = append(errs, l.checkSource(r, cluster)...)
	errs = append(errs, l.checkConsumer()...)
	if c := r.Cluster(cluster); c != nil && !r.HasAddon(c, AddonLogAgent) {
		field := "spec.cluster"
		if l.Spec.Business != "" {
			field = "spec.namespace"
		}
		errs = append(errs, o.Errorf(field, "cluster %q has no LogAgent Addon, so the rule would collect nothing: add an Addon with type: LogAgent that targets the cluster (TKEStack: enable log collection in the cluster's basic information)", cluster))
	}
	return errs
}

// checkScope checks the platform or business scope of the rule and returns the cluster
// it runs on, or "" when that is unknown (an error has been reported).
func (l *LogRule) checkScope(r *Repo) (string, ErrorList) {
	o, s := l.Origin, l.Spec
	switch {
	case s.Cluster != "" && s.Business != "":
		return "", ErrorList{o.Errorf("spec.cluster", "set either spec.cluster (a platform rule) or spec.business with spec.namespace (a business rule), not both; a business rule runs on its namespace's cluster")}
	case s.Cluster != "":
		var errs ErrorList
		if s.Namespace != "" {
			errs = append(errs, o.Errorf("spec.namespace", "spec.namespace belongs to business rules (with spec.business); a platform rule names the namespaces it collects from in its source"))
		}
		if r.Cluster(s.Cluster) == nil {
			return "", append(errs, o.Errorf("spec.cluster", "no Cluster named %q in the repository%s", s.Cluster, knownNames(r.Clusters, func(c *Cluster) string { return c.Metadata.Name })))
		}
		return s.Cluster, errs
	case s.Business != "":
		if byName(r.Businesses, s.Business) == nil {
			return "", ErrorList{o.Errorf("spec.business", "no Business named %q in the repository%s", s.Business, knownNames(r.Businesses, func(b *Business) string { return b.Metadata.Name }))}
		}
		if s.Namespace == "" {
			return "", ErrorList{o.Errorf("spec.namespace", "a business rule needs spec.namespace: the Namespace of Business %q the rule belongs to, which decides its cluster", s.Business)}
		}
		ns := byName(r.Namespaces, s.Namespace)
		switch {
		case ns == nil:
			return "", ErrorList{o.Errorf("spec.namespace", "no Namespace named %q in the repository%s", s.Namespace, knownNames(logBusinessNamespaces(r, s.Business, ""), func(n *Namespace) string { return n.Metadata.Name }))}
		case ns.Spec.Business != s.Business:
			return "", ErrorList{o.Errorf("spec.namespace", "Namespace %q belongs to Business %q, not %q; a business rule uses one of its own business's namespaces", s.Namespace, ns.Spec.Business, s.Business)}
		}
		return ns.Spec.Cluster, nil
	case s.Namespace != "":
		return "", ErrorList{o.Errorf("spec.business", "a rule with spec.namespace is a business rule and needs spec.business, the Business the namespace belongs to")}
	default:
		return "", ErrorList{o.Errorf("spec", "a LogRule needs a scope: spec.cluster for a platform rule, or spec.business and spec.namespace for a business rule")}
	}
}

// logBusinessNamespaces are the Namespaces of a business, on one cluster unless cluster
// is "".
func logBusinessNamespaces(r *Repo, business, cluster string) []*Namespace {
	var out []*Namespace
	for _, n := range r.Namespaces {
		if n.Spec.Business == business && (cluster == "" || n.Spec.Cluster == cluster) {
			out = append(out, n)
		}
	}
	return out
}

func (l *LogRule) checkSource(r *Repo, cluster string) ErrorList {
	o, s := l.Origin, l.Spec
	blocks := []struct {
		typ LogSourceType
		set bool
	}{{LogStdoutType, s.Stdout != nil}, {LogContainerFileType, s.ContainerFile != nil}, {LogNodeFileType, s.NodeFile != nil}}
	var errs ErrorList
	switch s.Type {
	case "":
		// Defaults infer the type from a single block: there is none, or several.
		if s.Stdout == nil && s.ContainerFile == nil && s.NodeFile == nil {
			return ErrorList{o.Errorf("spec", "a LogRule needs a source: set spec.stdout (containers' standard output), spec.containerFile (files in a container) or spec.nodeFile (files on the nodes)")}
		}
		return ErrorList{o.Errorf("spec", "a LogRule has one source: set only one of spec.stdout, spec.containerFile and spec.nodeFile")}
	case LogStdoutType, LogContainerFileType, LogNodeFileType:
	default:
		return ErrorList{o.Errorf("spec.type", "%s", unknownName("log source type", string(s.Type), logSourceTypes))}
	}
	for _, b := range blocks {
		switch {
		case b.typ == s.Type && !b.set:
			errs = append(errs, o.Errorf("spec."+string(b.typ), "type %s needs its settings in spec.%s", s.Type, b.typ))
		case b.typ != s.Type && b.set:
			errs = append(errs, o.Errorf("spec."+string(b.typ), "spec.%s does not apply to type %s; remove it", b.typ, s.Type))
		}
	}
	// A business rule's source namespaces can only be checked once its cluster is known.
	checkNS := s.Business == "" || cluster != ""
	switch {
	case s.Type == LogStdoutType && s.Stdout != nil:
		st := s.Stdout
		switch {
		case st.AllContainers && len(st.Namespaces) > 0:
			errs = append(errs, o.Errorf("spec.stdout.namespaces", "allContainers: true already collects from every namespace; remove spec.stdout.namespaces or allContainers"))
		case !st.AllContainers && len(st.Namespaces) == 0:
			errs = append(errs, o.Errorf("spec.stdout", "choose the containers: allContainers: true, or namespaces (each with optional workloads)"))
		}
		seen := map[string]bool{}
		for i, ns := range st.Namespaces {
			f := fmt.Sprintf("spec.stdout.namespaces[%d]", i)
			switch {
			case ns.Name == "":
				errs = append(errs, o.Errorf(f+".name", "the namespace name is required"))
			case seen[ns.Name]:
				errs = append(errs, o.Errorf(f+".name", "namespace %q is listed twice; list all its workloads under one entry", ns.Name))
			case checkNS:
				errs = append(errs, l.checkNamespace(r, cluster, f+".name", ns.Name)...)
			}
			seen[ns.Name] = true
			for j, w := range ns.Workloads {
				errs = append(errs, logCheckWorkload(o, fmt.Sprintf("%s.workloads[%d]", f, j), w)...)
			}
		}
	case s.Type == LogContainerFileType && s.ContainerFile != nil:
		cf := s.ContainerFile
		switch {
		case cf.Namespace == "":
			errs = append(errs, o.Errorf("spec.containerFile.namespace", "the workload's namespace is required"))
		case checkNS:
			errs = append(errs, l.checkNamespace(r, cluster, "spec.containerFile.namespace", cf.Namespace)...)
		}
		errs = append(errs, logCheckWorkload(o, "spec.containerFile.workload", cf.Workload)...)
		switch {
		case cf.Container == "":
			errs = append(errs, o.Errorf("spec.containerFile.container", "the container whose files are collected is required"))
		case len(cf.Container) > 63 || !dnsLabel.MatchString(cf.Container):
			errs = append(errs, o.Errorf("spec.containerFile.container", "%q is not a valid container name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", cf.Container))
		}
		errs = append(errs, logCheckPaths(o, "spec.containerFile.paths", cf.Paths, true)...)
	case s.Type == LogNodeFileType && s.NodeFile != nil:
		nf := s.NodeFile
		errs = append(errs, logCheckPaths(o, "spec.nodeFile.paths", nf.Paths, false)...)
		keys := sortedKeys(nf.Metadata)
		for _, k := range keys {
			if len(k) > 63 || !logMetadataKey.MatchString(k) {
				errs = append(errs, o.Errorf("spec.nodeFile.metadata."+k, "%q is not a valid metadata key: use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit", k))
			}
		}
	}
	return errs
}

// checkNamespace checks a namespace a rule collects from: a valid name, and for a business
// rule one of the business's namespaces on the rule's cluster.
func (l *LogRule) checkNamespace(r *Repo, cluster, field, name string) ErrorList {
	o, s := l.Origin, l.Spec
	if len(name) > 63 || !dnsLabel.MatchString(name) {
		return ErrorList{o.Errorf(field, "%q is not a valid namespace name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)}
	}
	if s.Business == "" {
		return nil
	}
	if ns := byName(r.Namespaces, name); ns == nil || ns.Spec.Business != s.Business || ns.Spec.Cluster != cluster {
		return ErrorList{o.Errorf(field, "%q is not a Namespace of Business %q on cluster %q; a business rule collects only from its own namespaces%s", name, s.Business, cluster, knownNames(logBusinessNamespaces(r, s.Business, cluster), func(n *Namespace) string { return n.Metadata.Name }))}
	}
	return nil
}

func logCheckWorkload(o Origin, field string, w LogWorkload) ErrorList {
	if w.Kind == "" && w.Name == "" {
		return ErrorList{o.Errorf(field, "the workload is required: {kind: KIND, name: NAME}, where KIND is one of %s", strings.Join(logWorkloadKind, ", "))}
	}
	var errs ErrorList
	switch {
	case w.Kind == "":
		errs = append(errs, o.Errorf(field+".kind", "the workload kind is required: one of %s", strings.Join(logWorkloadKind, ", ")))
	case !slices.Contains(logWorkloadKind, w.Kind):
		errs = append(errs, o.Errorf(field+".kind", "%s", unknownName("workload kind", w.Kind, logWorkloadKind)))
	}
	switch {
	case w.Name == "":
		errs = append(errs, o.Errorf(field+".name", "the workload name is required"))
	case len(w.Name) > 253 || !dnsSubdomain.MatchString(w.Name):
		errs = append(errs, o.Errorf(field+".name", "%q is not a valid workload name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", w.Name))
	}
	return errs
}

func logCheckPaths(o Origin, field string, paths []string, inContainer bool) ErrorList {
	if len(paths) == 0 {
		return ErrorList{o.Errorf(field, "list at least one path, for example /var/log/app/ (every file in the directory) or /var/log/app/*.log")}
	}
	var errs ErrorList
	seen := map[string]bool{}
	for i, p := range paths {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch problem := logCheckPath(p, inContainer); {
		case problem != "":
			errs = append(errs, o.Errorf(f, "%s", problem))
		case seen[p]:
			errs = append(errs, o.Errorf(f, "path %q is listed twice", p))
		}
		seen[p] = true
	}
	return errs
}

// logCheckPath applies the seed's rule for collection paths: the directory starts and ends
// with /, only the file name may hold the * wildcard, and the directory and the file name
// have at most 63 characters each. It returns what is wrong, or "".
func logCheckPath(p string, inContainer bool) string {
	if inContainer && p == "stdout" {
		return "to collect standard output set spec.stdout (type stdout) instead of the path stdout"
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Sprintf("%q is not an absolute path: a path starts with /, for example /var/log/app/ (every file in the directory) or /var/log/app/*.log", p)
	}
	i := strings.LastIndex(p, "/")
	dir, file := p[:i+1], p[i+1:]
	if strings.Contains(dir, "*") {
		return fmt.Sprintf("%q has * in a directory; the wildcard is allowed only in the file name, for example /var/log/app/*.log", p)
	}
	if strings.Contains(p, "//") || file == "." || file == ".." || strings.Contains(dir, "/./") || strings.Contains(dir, "/../") {
		return fmt.Sprintf("%q is not a clean path: remove empty, . and .. parts", p)
	}
	if n := utf8.RuneCountInString(dir); n > logMaxPathPart {
		return fmt.Sprintf("the directory %q has %d characters; at most %d are allowed", dir, n, logMaxPathPart)
	}
	if n := utf8.RuneCountInString(file); n > logMaxPathPart {
		return fmt.Sprintf("the file name %q has %d characters; at most %d are allowed", file, n, logMaxPathPart)
	}
	return ""
}

func (l *LogRule) checkConsumer() ErrorList {
	o := l.Origin
	k, es := l.Spec.Consumer.Kafka, l.Spec.Consumer.Elasticsearch
	switch {
	case k == nil && es == nil:
		return ErrorList{o.Errorf("spec.consumer", "a LogRule needs a consumer: spec.consumer.kafka {address, topic} or spec.consumer.elasticsearch {address, index}")}
	case k != nil && es != nil:
		return ErrorList{o.Errorf("spec.consumer", "set only one of spec.consumer.kafka and spec.consumer.elasticsearch; a rule has one consumer")}
	}
	var errs ErrorList
	if k != nil {
		if problem := logCheckHostPort(k.Address); problem != "" {
			errs = append(errs, o.Errorf("spec.consumer.kafka.address", "%s", problem))
		}
		switch {
		case k.Topic == "":
			errs = append(errs, o.Errorf("spec.consumer.kafka.topic", "the Kafka topic is required"))
		case len(k.Topic) > 249 || !logKafkaTopic.MatchString(k.Topic) || k.Topic == "." || k.Topic == "..":
			errs = append(errs, o.Errorf("spec.consumer.kafka.topic", "%q is not a valid Kafka topic: use at most 249 letters, digits, '.', '_' and '-'", k.Topic))
		}
		return errs
	}
	return es.validate(o, "spec.consumer.elasticsearch", true)
}

// logCheckHostPort checks a Kafka broker address, HOST:PORT with an IP or a DNS name. It
// returns what is wrong, or "".
func logCheckHostPort(addr string) string {
	const form = "write IP:PORT or HOST:PORT, for example 10.0.0.5:9092"
	if addr == "" {
		return "the Kafka address is required; " + form
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Sprintf("%q is not a Kafka address; %s", addr, form)
	}
	if net.ParseIP(host) == nil && (len(host) > 253 || !dnsSubdomain.MatchString(strings.ToLower(host))) {
		return fmt.Sprintf("%q is not a Kafka address: %q is neither an IP address nor a host name; %s", addr, host, form)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q is not a Kafka address: the port is 1 to 65535; %s", addr, form)
	}
	return ""
}
