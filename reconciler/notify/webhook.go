package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"gitfleet.dev/gitfleet/schema"
)

// Message is the JSON body of a drift webhook: Alertmanager's webhook payload (version 4),
// so that a receiver written for Alertmanager (PrometheusAlert, a chat-robot bridge, an
// incident tool) accepts it unchanged. doc.go shows an example.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one drift in a Message.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// AlertName is the alertname label of every drift alert.
const AlertName = "GitfleetDrift"

// webhookVersion is the Alertmanager webhook payload version the Message follows.
const webhookVersion = "4"

// newMessage builds the webhook payload for a batch.
func newMessage(fleet string, groups []string, msgs []message, externalURL string) Message {
	groupLabels := labelSet(map[string]string{"alertname": AlertName, "fleet": fleet})
	m := Message{
		Version:     webhookVersion,
		GroupKey:    "{}:" + formatLabels(groupLabels),
		Status:      firing,
		Receiver:    strings.Join(groups, ","),
		GroupLabels: groupLabels,
		ExternalURL: externalURL,
		Alerts:      make([]Alert, len(msgs)),
	}
	allResolved := true
	for i, msg := range msgs {
		d := msg.Drift
		labels := labelSet(map[string]string{
			"alertname": AlertName, "fleet": fleet, "cluster": d.Cluster, "app": d.App,
			"object": d.Object, "change": d.Change, "action": d.Action,
		})
		sum := msg.Header
		if strings.TrimSpace(sum) == "" {
			sum = summary(d)
		}
		m.Alerts[i] = Alert{
			Status:       d.status(),
			Labels:       labels,
			Annotations:  labelSet(map[string]string{"summary": sum, "description": msg.Body, "revision": d.Revision, "by": d.By}),
			StartsAt:     d.startsAt().UTC(),
			GeneratorURL: externalURL,
			Fingerprint:  fingerprint(labels),
		}
		if d.Resolved {
			m.Alerts[i].EndsAt = d.At.UTC()
		} else {
			allResolved = false
		}
	}
	if allResolved && len(msgs) > 0 {
		m.Status = resolved // as Alertmanager: a group is resolved when all its alerts are.
	}
	m.CommonLabels = common(m.Alerts, func(a Alert) map[string]string { return a.Labels })
	m.CommonAnnotations = common(m.Alerts, func(a Alert) map[string]string { return a.Annotations })
	return m
}

// labelSet drops empty values: in Prometheus and Alertmanager an empty label is an absent
// one, and receivers match on presence.
func labelSet(m map[string]string) map[string]string {
	maps.DeleteFunc(m, func(_, v string) bool { return v == "" })
	return m
}

// common is the pairs every alert has, as Alertmanager computes commonLabels and
// commonAnnotations.
func common(alerts []Alert, of func(Alert) map[string]string) map[string]string {
	out := map[string]string{}
	if len(alerts) == 0 {
		return out
	}
	maps.Copy(out, of(alerts[0]))
	for _, a := range alerts[1:] {
		kv := of(a)
		maps.DeleteFunc(out, func(k, v string) bool { return kv[k] != v })
	}
	return out
}

// formatLabels writes a label set as Alertmanager writes group keys: {a="x", b="y"}.
func formatLabels(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// fingerprint is Alertmanager's fingerprint of a label set (prometheus/common
// model.LabelSet.Fingerprint): FNV-1a 64 over the sorted names and values, each followed
// by 0xff, written as 16 hex digits. Receivers that deduplicate on it then treat a drift
// seen twice as one alert.
func fingerprint(labels map[string]string) string {
	h := fnv.New64a()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// maxErrorBody is how much of a refusing receiver's answer an error quotes.
const maxErrorBody = 200

// sendWebhook posts the batch as one Message.
func (n *Notifier) sendWebhook(ctx context.Context, w *schema.WebhookChannel, groups []string, msgs []message) (err error) {
	if w.URLFrom != nil {
		// The URL is shown without path and query; say where it came from instead.
		defer func() {
			if err != nil {
				err = fmt.Errorf("URL from %s: %w", describeRef(w.URLFrom), err)
			}
		}()
	}
	target, shown, err := n.webhookURL(ctx, w)
	if err != nil {
		return err
	}
	body, err := json.Marshal(newMessage(n.fleetName(), groups, msgs, n.opts.ExternalURL))
	if err != nil {
		return fmt.Errorf("encoding the payload: %w", err)
	}
	if n.opts.WebhookTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.opts.WebhookTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST %s: %w", shown, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gitfleet")
	for i, h := range w.Headers {
		v := h.Value
		if h.ValueFrom != nil {
			if v, err = n.secretString(ctx, h.ValueFrom, fmt.Sprintf("spec.webhook.headers[%d].valueFrom", i)); err != nil {
				return err
			}
		}
		req.Header.Set(h.Name, v)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which for urlFrom holds a credential.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			ue.URL = shown
		}
		return err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST %s: %w", shown, &StatusError{StatusCode: resp.StatusCode, Body: string(head)})
	}
	return nil
}

// webhookURL is the channel's endpoint and the form of it that errors and logs may show:
// all of a literal url (Load refuses credentials in it), only the scheme and host of a
// urlFrom, whose path or query holds a token.
func (n *Notifier) webhookURL(ctx context.Context, w *schema.WebhookChannel) (*url.URL, string, error) {
	if w.URLFrom == nil {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, "", fmt.Errorf("spec.webhook.url: %q is not an http:// or https:// URL", w.URL)
		}
		return u, w.URL, nil
	}
	raw, err := n.secretString(ctx, w.URLFrom, "spec.webhook.urlFrom")
	if err != nil {
		return nil, "", err
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The parse error would quote the value.
		return nil, "", errors.New("spec.webhook.urlFrom: the value is not an http:// or https:// URL")
	}
	return u, u.Scheme + "://" + u.Host + "/...", nil
}
