package schema

// AlertPolicy is a fleet kind; its fields are being written.
type AlertPolicy struct {
	Object `yaml:",inline" json:",inline"`
	Spec   AlertPolicySpec `yaml:"spec" json:"spec"`
}

// AlertPolicySpec is the specification of a AlertPolicy.
type AlertPolicySpec struct{}

// NotifyChannel is a fleet kind; its fields are being written.
type NotifyChannel struct {
	Object `yaml:",inline" json:",inline"`
	Spec   NotifyChannelSpec `yaml:"spec" json:"spec"`
}

// NotifyChannelSpec is the specification of a NotifyChannel.
type NotifyChannelSpec struct{}

// NotifyTemplate is a fleet kind; its fields are being written.
type NotifyTemplate struct {
	Object `yaml:",inline" json:",inline"`
	Spec   NotifyTemplateSpec `yaml:"spec" json:"spec"`
}

// NotifyTemplateSpec is the specification of a NotifyTemplate.
type NotifyTemplateSpec struct{}

// Receiver is a fleet kind; its fields are being written.
type Receiver struct {
	Object `yaml:",inline" json:",inline"`
	Spec   ReceiverSpec `yaml:"spec" json:"spec"`
}

// ReceiverSpec is the specification of a Receiver.
type ReceiverSpec struct{}

// ReceiverGroup is a fleet kind; its fields are being written.
type ReceiverGroup struct {
	Object `yaml:",inline" json:",inline"`
	Spec   ReceiverGroupSpec `yaml:"spec" json:"spec"`
}

// ReceiverGroupSpec is the specification of a ReceiverGroup.
type ReceiverGroupSpec struct{}

// defaultsAlerting fills in the defaults of this area's kinds.
func (r *Repo) defaultsAlerting() {}

// validateAlerting checks this area's kinds and their references.
func (r *Repo) validateAlerting() ErrorList { return nil }
