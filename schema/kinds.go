package schema

import "sort"

// Kind names of the fleet repository.
const (
	KindFleet             = "Fleet"
	KindCluster           = "Cluster"
	KindApp               = "App"
	KindBusiness          = "Business"
	KindNamespace         = "Namespace"
	KindAddon             = "Addon"
	KindAlertPolicy       = "AlertPolicy"
	KindNotifyChannel     = "NotifyChannel"
	KindNotifyTemplate    = "NotifyTemplate"
	KindReceiver          = "Receiver"
	KindReceiverGroup     = "ReceiverGroup"
	KindUser              = "User"
	KindGroup             = "Group"
	KindPolicy            = "Policy"
	KindHelmRepository    = "HelmRepository"
	KindRegistryNamespace = "RegistryNamespace"
	KindLogRule           = "LogRule"
	KindChartLock         = "ChartLock"
)

// kinds makes an empty object of each kind for the loader to decode into. It is a
// read-only table; Repo.add files each decoded object under its kind.
var kinds = map[string]func() any{
	KindFleet:             func() any { return &Fleet{} },
	KindCluster:           func() any { return &Cluster{} },
	KindApp:               func() any { return &App{} },
	KindBusiness:          func() any { return &Business{} },
	KindNamespace:         func() any { return &Namespace{} },
	KindAddon:             func() any { return &Addon{} },
	KindAlertPolicy:       func() any { return &AlertPolicy{} },
	KindNotifyChannel:     func() any { return &NotifyChannel{} },
	KindNotifyTemplate:    func() any { return &NotifyTemplate{} },
	KindReceiver:          func() any { return &Receiver{} },
	KindReceiverGroup:     func() any { return &ReceiverGroup{} },
	KindUser:              func() any { return &User{} },
	KindGroup:             func() any { return &Group{} },
	KindPolicy:            func() any { return &Policy{} },
	KindHelmRepository:    func() any { return &HelmRepository{} },
	KindRegistryNamespace: func() any { return &RegistryNamespace{} },
	KindLogRule:           func() any { return &LogRule{} },
	KindChartLock:         func() any { return &ChartLock{} },
}

// Repo is a loaded fleet repository: every fleet object it declares, each kind sorted by
// name.
type Repo struct {
	// Fleet holds the repository-wide settings; defaults are filled in when the repository
	// has no Fleet file.
	Fleet              *Fleet
	Clusters           []*Cluster
	Apps               []*App
	Businesses         []*Business
	Namespaces         []*Namespace
	Addons             []*Addon
	AlertPolicies      []*AlertPolicy
	NotifyChannels     []*NotifyChannel
	NotifyTemplates    []*NotifyTemplate
	Receivers          []*Receiver
	ReceiverGroups     []*ReceiverGroup
	Users              []*User
	Groups             []*Group
	Policies           []*Policy
	HelmRepositories   []*HelmRepository
	RegistryNamespaces []*RegistryNamespace
	LogRules           []*LogRule
	// ChartLocks holds the chart lock; more than one is an error.
	ChartLocks []*ChartLock

	// misversioned are the documents read despite an unsupported apiVersion.
	misversioned spans
	// secretRefs are the secret references of the repository's files, for the secret
	// policy (LoadOptions.Secrets).
	secretRefs []foundSecretRef
}

// add files a decoded object under its kind.
func (r *Repo) add(obj any) {
	switch o := obj.(type) {
	case *Fleet:
		r.Fleet = o
	case *Cluster:
		r.Clusters = append(r.Clusters, o)
	case *App:
		r.Apps = append(r.Apps, o)
	case *Business:
		r.Businesses = append(r.Businesses, o)
	case *Namespace:
		r.Namespaces = append(r.Namespaces, o)
	case *Addon:
		r.Addons = append(r.Addons, o)
	case *AlertPolicy:
		r.AlertPolicies = append(r.AlertPolicies, o)
	case *NotifyChannel:
		r.NotifyChannels = append(r.NotifyChannels, o)
	case *NotifyTemplate:
		r.NotifyTemplates = append(r.NotifyTemplates, o)
	case *Receiver:
		r.Receivers = append(r.Receivers, o)
	case *ReceiverGroup:
		r.ReceiverGroups = append(r.ReceiverGroups, o)
	case *User:
		r.Users = append(r.Users, o)
	case *Group:
		r.Groups = append(r.Groups, o)
	case *Policy:
		r.Policies = append(r.Policies, o)
	case *HelmRepository:
		r.HelmRepositories = append(r.HelmRepositories, o)
	case *RegistryNamespace:
		r.RegistryNamespaces = append(r.RegistryNamespaces, o)
	case *LogRule:
		r.LogRules = append(r.LogRules, o)
	case *ChartLock:
		r.ChartLocks = append(r.ChartLocks, o)
	}
}

// named is what every kind has through its embedded Object.
type named interface {
	Name() string
	Source() Origin
}

// sortByName orders objects of one kind by name, so that output and errors are stable.
func sortByName[T named](objs []T) {
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].Name() < objs[j].Name() })
}

// byName finds an object of one kind by name, or returns the zero value.
func byName[T named](objs []T, name string) T {
	i := sort.Search(len(objs), func(i int) bool { return objs[i].Name() >= name })
	if i < len(objs) && objs[i].Name() == name {
		return objs[i]
	}
	var zero T
	return zero
}

// Cluster returns the cluster with the given name, or nil.
func (r *Repo) Cluster(name string) *Cluster { return byName(r.Clusters, name) }

// App returns the app with the given name, or nil.
func (r *Repo) App(name string) *App { return byName(r.Apps, name) }

// sortAll sorts every kind by name. Lookups by name (byName) rely on it.
func (r *Repo) sortAll() {
	sortByName(r.Clusters)
	sortByName(r.Apps)
	sortByName(r.Businesses)
	sortByName(r.Namespaces)
	sortByName(r.Addons)
	sortByName(r.AlertPolicies)
	sortByName(r.NotifyChannels)
	sortByName(r.NotifyTemplates)
	sortByName(r.Receivers)
	sortByName(r.ReceiverGroups)
	sortByName(r.Users)
	sortByName(r.Groups)
	sortByName(r.Policies)
	sortByName(r.HelmRepositories)
	sortByName(r.RegistryNamespaces)
	sortByName(r.LogRules)
}

// uniqueNamesAll reports duplicate names within each kind.
func (r *Repo) uniqueNamesAll() ErrorList {
	var errs ErrorList
	errs = append(errs, uniqueNames(KindCluster, r.Clusters)...)
	errs = append(errs, uniqueNames(KindApp, r.Apps)...)
	errs = append(errs, uniqueNames(KindBusiness, r.Businesses)...)
	errs = append(errs, uniqueNames(KindNamespace, r.Namespaces)...)
	errs = append(errs, uniqueNames(KindAddon, r.Addons)...)
	errs = append(errs, uniqueNames(KindAlertPolicy, r.AlertPolicies)...)
	errs = append(errs, uniqueNames(KindNotifyChannel, r.NotifyChannels)...)
	errs = append(errs, uniqueNames(KindNotifyTemplate, r.NotifyTemplates)...)
	errs = append(errs, uniqueNames(KindReceiver, r.Receivers)...)
	errs = append(errs, uniqueNames(KindReceiverGroup, r.ReceiverGroups)...)
	errs = append(errs, uniqueNames(KindUser, r.Users)...)
	errs = append(errs, uniqueNames(KindGroup, r.Groups)...)
	errs = append(errs, uniqueNames(KindPolicy, r.Policies)...)
	errs = append(errs, uniqueNames(KindHelmRepository, r.HelmRepositories)...)
	errs = append(errs, uniqueNames(KindRegistryNamespace, r.RegistryNamespaces)...)
	errs = append(errs, uniqueNames(KindLogRule, r.LogRules)...)
	return errs
}
