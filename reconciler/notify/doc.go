// Package notify tells people about drift: objects that someone changed or deleted in a
// member cluster outside gitfleet. It sends through the NotifyChannels that the fleet
// repository's Fleet.spec.driftNotify names, to the receivers of its receiver groups:
//
//	kind: Fleet
//	spec:
//	  driftNotify:
//	    receiverGroups: [ops]
//	    notify:
//	    - {channel: ops-hook, template: ops-hook-drift}
//	    - {channel: ops-mail, template: ops-mail-drift}
//
// Drift is sent in batches (whatever the caller hands to Notifier.Drift at once): one
// notification per (channel, template) pair per batch, never one per object, so that a
// deleted namespace does not send a hundred mails. Without spec.driftNotify nothing is
// sent; drift is still logged, counted, recorded as a Kubernetes Event and in the status
// commit by the reconciler. The pairs send in parallel and independently: a webhook that
// is down does not stop the mail. Drift returns every failure joined, each a
// *ChannelError naming the channel; nothing is retried here (the caller decides, see
// StatusError.Temporary and SecretError).
//
// # Templates
//
// A NotifyTemplate's header and body are rendered once per drift with the variables of
// schema.NotifyData, filled so that a template written for alert policies reads sensibly
// for drift:
//
//	{{.PolicyName}}    "drift"
//	{{.Status}}        "firing"
//	{{.Metric}}        "drift"  ({{.MetricName}} too)
//	{{.Value}}         the change: "modified" or "deleted"
//	{{.Cluster}}       the member cluster
//	{{.Namespace}}     the object's namespace ("" for cluster-scoped objects)
//	{{.WorkloadKind}}  the object's kind (Deployment, ConfigMap, ...)
//	{{.Workload}}      the object's name ({{.Pod}} too when the object is a Pod)
//	{{.Business}}      the business owning the namespace, when it is a Namespace of the repository
//	{{.StartsAt}}      when the drift was seen, RFC 3339
//
// The others (PolicyType, Node, Unit, Operator, Threshold, Duration, Period) are empty.
//
// # Webhook channels
//
// A webhook channel receives one HTTP POST per batch, Content-Type application/json, with
// the channel's headers (valueFrom resolved when sending). The body is Alertmanager's
// webhook payload, version 4, so that any receiver written for Alertmanager accepts it;
// each drift is one alert:
//
//   - labels: alertname "GitfleetDrift", fleet (the Fleet's name), cluster, app, object
//     (Kind/namespace/name), change (modified, deleted), action (corrected for drift:
//     correct, reported for drift: alert). Empty labels are left out, as Alertmanager
//     treats them.
//   - annotations: summary (the template's header, or a one-line default when it has
//     none), description (the template's body), revision (the fleet revision applied).
//   - status "firing"; startsAt when the drift was seen; endsAt the zero time (drift is
//     never resolved by a later message); generatorURL and the message's externalURL are
//     Options.ExternalURL; fingerprint is Alertmanager's hash of the labels, so receivers
//     that deduplicate treat the same drift seen twice as one alert.
//   - groupLabels are alertname and fleet, groupKey is built from them as Alertmanager
//     does, receiver is the receiver group names joined with ",", commonLabels and
//     commonAnnotations are the pairs all alerts of the batch share.
//
// For a template with header "[{{.Status}}] {{.PolicyName}} on {{.Cluster}}" and body
// "{{.WorkloadKind}} {{.Namespace}}/{{.Workload}} was {{.Value}} outside gitfleet", one
// drift of the Deployment shop-prod/web of App web on cluster dev, corrected at revision
// 3f2a1c9, is posted as:
//
//	{
//	  "version": "4",
//	  "groupKey": "{}:{alertname=\"GitfleetDrift\", fleet=\"example\"}",
//	  "truncatedAlerts": 0,
//	  "status": "firing",
//	  "receiver": "ops",
//	  "groupLabels": {
//	    "alertname": "GitfleetDrift",
//	    "fleet": "example"
//	  },
//	  "commonLabels": {
//	    "action": "corrected",
//	    "alertname": "GitfleetDrift",
//	    "app": "web",
//	    "change": "modified",
//	    "cluster": "dev",
//	    "fleet": "example",
//	    "object": "Deployment/shop-prod/web"
//	  },
//	  "commonAnnotations": {
//	    "description": "Deployment shop-prod/web was modified outside gitfleet",
//	    "revision": "3f2a1c9",
//	    "summary": "[firing] drift on dev"
//	  },
//	  "externalURL": "https://git.example.com/fleet/src/branch/main/status/README.md",
//	  "alerts": [
//	    {
//	      "status": "firing",
//	      "labels": {
//	        "action": "corrected",
//	        "alertname": "GitfleetDrift",
//	        "app": "web",
//	        "change": "modified",
//	        "cluster": "dev",
//	        "fleet": "example",
//	        "object": "Deployment/shop-prod/web"
//	      },
//	      "annotations": {
//	        "description": "Deployment shop-prod/web was modified outside gitfleet",
//	        "revision": "3f2a1c9",
//	        "summary": "[firing] drift on dev"
//	      },
//	      "startsAt": "2024-05-01T08:00:00Z",
//	      "endsAt": "0001-01-01T00:00:00Z",
//	      "generatorURL": "https://git.example.com/fleet/src/branch/main/status/README.md",
//	      "fingerprint": "a03de2d6854dbcf7"
//	    }
//	  ]
//	}
//
// Any 2xx answer is success. Another status is a *StatusError carrying the status and the
// first 200 bytes of the answer; redirects are not followed (they would carry the
// headers, tokens included, elsewhere). A URL given by urlFrom is shown in errors only as
// scheme and host, since its path or query is the credential; header values are never
// logged.
//
// # Email channels
//
// An email channel sends one mail per batch with net/smtp to smtpHost:smtpPort: over TLS
// from the first byte when the channel sets tls (port 465), otherwise upgraded with
// STARTTLS whenever the server offers it. It logs in with AUTH PLAIN as the sender's
// address and the password when the server offers AUTH; net/smtp refuses to send the
// password over a connection that is neither TLS nor to localhost. The mail goes to the
// email address of every receiver of the receiver groups. The subject is the template's
// header for the first drift, followed by "(and N more)" when the batch has more; the
// body is text/plain in UTF-8 (quoted-printable): the template's body for each drift, a
// blank line between two, and Options.ExternalURL after a "-- " line.
//
// # SMS and WeChat channels
//
// Tencent Cloud SMS and WeChat official-account messages need the vendors' SDKs and
// signed APIs, which gitfleet does not carry: those channels are skipped (Outcome
// Skipped, not an error) and the skip is logged once per channel per Notifier. To reach
// phones, put an SMS or chat gateway behind a webhook channel.
//
// # Secrets
//
// Passwords, webhook URLs with tokens and header values are SecretRefs, read when sending
// through a SecretResolver. EnvFileResolver reads environment variables and files itself
// and Kubernetes Secrets through a function the caller supplies; without one a `secret`
// reference fails its channel with an error naming the Secret and key. A trailing line
// break of a value is dropped (files written with echo end with one).
//
// The repository's authors are not the operator, and a channel sends what it reads to a
// host the repository names. EnvFileResolver therefore reads only what the operator's
// schema.SecretPolicy allows: variables with an allowed prefix, files inside the secrets
// directory (opened through os.Root, so no .. or symlink leaves it), Secrets in allowed
// namespaces. Anything else fails its channel with a *schema.SecretNotAllowedError.
package notify
