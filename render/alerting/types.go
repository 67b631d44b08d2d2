package alerting

// The prometheus-operator kinds gitfleet writes, reduced to the fields it sets. Field names
// and JSON tags are those of the upstream API types (pkg/apis/monitoring/v1 PrometheusRule
// and v1alpha1 AlertmanagerConfig), so that the objects are accepted by the upstream CRDs'
// schemas as well as by minimal CRDs that preserve unknown fields. Objects are built as
// these structs and turned into unstructured objects through JSON, which gives the number
// types the Kubernetes machinery expects.

type objectMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// prometheusRule is monitoring.coreos.com/v1 PrometheusRule.
type prometheusRule struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   objectMeta         `json:"metadata"`
	Spec       prometheusRuleSpec `json:"spec"`
}

type prometheusRuleSpec struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`
}

type rule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// alertmanagerConfig is monitoring.coreos.com/v1alpha1 AlertmanagerConfig.
type alertmanagerConfig struct {
	APIVersion string                 `json:"apiVersion"`
	Kind       string                 `json:"kind"`
	Metadata   objectMeta             `json:"metadata"`
	Spec       alertmanagerConfigSpec `json:"spec"`
}

type alertmanagerConfigSpec struct {
	Route     *route       `json:"route"`
	Receivers []amReceiver `json:"receivers"`
}

// route is v1alpha1.Route; child routes are the same shape (upstream stores them as raw
// JSON because CRD schemas cannot be recursive).
type route struct {
	Receiver string    `json:"receiver"`
	GroupBy  []string  `json:"groupBy,omitempty"`
	Matchers []matcher `json:"matchers,omitempty"`
	Continue bool      `json:"continue,omitempty"`
	Routes   []route   `json:"routes,omitempty"`
}

type matcher struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	MatchType string `json:"matchType"`
}

type amReceiver struct {
	Name           string          `json:"name"`
	EmailConfigs   []emailConfig   `json:"emailConfigs,omitempty"`
	WebhookConfigs []webhookConfig `json:"webhookConfigs,omitempty"`
}

type emailConfig struct {
	SendResolved *bool              `json:"sendResolved,omitempty"`
	To           string             `json:"to"`
	From         string             `json:"from"`
	Smarthost    string             `json:"smarthost"`
	AuthUsername string             `json:"authUsername,omitempty"`
	AuthPassword *secretKeySelector `json:"authPassword,omitempty"`
	Headers      []keyValue         `json:"headers,omitempty"`
	HTML         *string            `json:"html,omitempty"`
	Text         *string            `json:"text,omitempty"`
	RequireTLS   *bool              `json:"requireTLS,omitempty"`
}

type webhookConfig struct {
	SendResolved *bool              `json:"sendResolved,omitempty"`
	URL          string             `json:"url,omitempty"`
	URLSecret    *secretKeySelector `json:"urlSecret,omitempty"`
	HTTPConfig   *httpConfig        `json:"httpConfig,omitempty"`
}

type httpConfig struct {
	Authorization *safeAuthorization `json:"authorization,omitempty"`
}

// safeAuthorization is monitoringv1.SafeAuthorization: Alertmanager sends
// "Authorization: <type> <credentials>".
type safeAuthorization struct {
	Type        string             `json:"type,omitempty"`
	Credentials *secretKeySelector `json:"credentials"`
}

// secretKeySelector is core/v1 SecretKeySelector: a key of a Secret in the namespace of the
// AlertmanagerConfig.
type secretKeySelector struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
