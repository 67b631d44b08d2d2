package remotechart

import (
	"errors"
	"fmt"
)

// ErrUnavailable is the cause of every error that fetching again later may cure: the
// repository or registry did not answer, timed out or failed (5xx). Render errors that
// wrap it are transient, for errors.Is.
var ErrUnavailable = errors.New("chart repository unavailable")

// FetchError is a request to a repository or registry that failed.
type FetchError struct {
	// Chart says what was being fetched (a Ref or Locked chart, in words).
	Chart string
	// URL is the address requested, without credentials.
	URL string
	Err error
}

func (e *FetchError) Error() string {
	if e.URL == "" {
		return fmt.Sprintf("fetching %s: %v", e.Chart, e.Err)
	}
	return fmt.Sprintf("fetching %s (%s): %v", e.Chart, e.URL, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// unavailable marks err as a repository that may answer later.
type unavailable struct{ err error }

func (u unavailable) Error() string { return u.err.Error() }
func (u unavailable) Unwrap() []error {
	return []error{u.err, ErrUnavailable}
}

// AuthError is a repository or registry that refused the request's credentials (401 or
// 403). It never holds the credentials.
type AuthError struct {
	Status int
	// WithCredentials says whether credentials were sent.
	WithCredentials bool
}

func (e *AuthError) Error() string {
	if e.WithCredentials {
		return fmt.Sprintf("the server refused the credentials of spec.source.helm.auth (HTTP %d): check the secrets they refer to", e.Status)
	}
	return fmt.Sprintf("the server requires credentials (HTTP %d): set spec.source.helm.auth (credentials go only to the host of spec.source.helm.repository, not to dependencies elsewhere)", e.Status)
}

// DigestMismatchError is an archive whose content is not what the lock recorded: the
// version was pushed again with other content, or the download was altered.
type DigestMismatchError struct {
	Chart     Locked
	Got       string
	FromCache bool
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("%s: the archive has digest %s but the lock file records %s: the version was published again with other content; review the new chart and run gitfleet lock --update to accept it", e.Chart, e.Got, e.Chart.Digest)
}

// NotLockedError is a remote chart the lock has no entry for.
type NotLockedError struct{ Chart Ref }

func (e *NotLockedError) Error() string {
	return fmt.Sprintf("%s is not in the lock file: run gitfleet lock on the repository and commit %s", e.Chart, "the lock file")
}

// NotCachedError is a chart an offline Client would have to fetch.
type NotCachedError struct{ Chart Locked }

func (e *NotCachedError) Error() string {
	return fmt.Sprintf("%s (%s) is not in the chart cache and this command does not fetch: gitfleet render, plan or lock fetch it", e.Chart, e.Chart.Digest)
}

// TooLargeError is a response over its size limit.
type TooLargeError struct {
	Limit int64
	Flag  string
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the response is larger than %d bytes (raise %s if that is expected)", e.Limit, e.Flag)
}

// StaleLockError is a lock entry whose version does not satisfy the constraint it was
// locked for (the file was edited by hand, or merged from two branches).
type StaleLockError struct{ Chart Locked }

func (e *StaleLockError) Error() string {
	return fmt.Sprintf("%s: the lock file pins version %s, which does not satisfy %q: run gitfleet lock on the repository and commit the lock file", e.Chart.Ref, e.Chart.Version, e.Chart.Constraint)
}
