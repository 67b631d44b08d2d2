package yamlbound

import (
	"crypto/sha256"
	"sync"
)

// Passed remembers, by content, the files that passed a check: a revision changes few of
// a repository's files, and a file that passed before passes again under the same limits,
// so serve and a render cache need not parse the rest of them once per revision only to
// find them fine. Only passes are kept; a failure is checked again, for its message.
// A nil *Passed remembers nothing. Safe for concurrent use.
type Passed struct {
	mu   sync.Mutex
	seen map[passKey]struct{}
	max  int
}

// passKey is one check of one content under one set of limits.
type passKey struct {
	check  string
	limits Limits
	sum    [sha256.Size]byte
}

// NewPassed remembers up to max passes, and forgets them all when it is full (the files
// of the revisions that follow fill it again).
func NewPassed(max int) *Passed {
	return &Passed{seen: map[passKey]struct{}{}, max: max}
}

// Check is the package's Check, answered from memory for a content that passed before.
func (p *Passed) Check(file string, data []byte, l Limits) error {
	return p.Do("bounds", data, l, func() error { return Check(file, data, l) })
}

// Do runs check, a function of data and l alone named by name, unless the same content
// passed it before under the same limits.
func (p *Passed) Do(name string, data []byte, l Limits, check func() error) error {
	if p == nil {
		return check()
	}
	key := passKey{check: name, limits: l, sum: sha256.Sum256(data)}
	p.mu.Lock()
	_, ok := p.seen[key]
	p.mu.Unlock()
	if ok {
		return nil
	}
	err := check()
	if err == nil {
		p.mu.Lock()
		if len(p.seen) >= p.max {
			clear(p.seen)
		}
		p.seen[key] = struct{}{}
		p.mu.Unlock()
	}
	return err
}
