package yamlbound

import (
	"errors"
	"testing"
)

func TestPassedRemembersPassesOnly(t *testing.T) {
	p := NewPassed(3)
	runs := 0
	pass := func() error { runs++; return nil }
	fail := func() error { runs++; return errors.New("bad") }
	l := Limits{MaxDepth: 5}

	for range 2 {
		if err := p.Do("c", []byte("a: 1"), l, pass); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 1 {
		t.Fatalf("same content, check and limits: ran %d times, want 1", runs)
	}
	// Another content, another check, other limits: each is a check of its own.
	_ = p.Do("c", []byte("a: 2"), l, pass)
	_ = p.Do("other", []byte("a: 1"), l, pass)
	_ = p.Do("c", []byte("a: 1"), Limits{MaxDepth: 6}, pass)
	if runs != 4 {
		t.Fatalf("ran %d times, want 4", runs)
	}
	// A failure is checked again each time, for its message.
	for range 2 {
		if err := p.Do("c", []byte("b: 1"), l, fail); err == nil {
			t.Fatal("a failing check passed")
		}
	}
	if runs != 6 {
		t.Fatalf("a failure was remembered: ran %d times, want 6", runs)
	}
	// Full (3 passes, then a 4th): it forgets and starts again, never grows past max.
	if len(p.seen) > 3 {
		t.Fatalf("holds %d passes, max is 3", len(p.seen))
	}
	// A nil Passed checks every time.
	var none *Passed
	_ = none.Do("c", []byte("a: 1"), l, pass)
	_ = none.Do("c", []byte("a: 1"), l, pass)
	if runs != 8 {
		t.Fatalf("nil Passed: ran %d times, want 8", runs)
	}
}

func TestPassedCheckRefusesWhatCheckRefuses(t *testing.T) {
	p := NewPassed(10)
	deep := []byte("a: [[[[[[1]]]]]]")
	l := Limits{MaxDepth: 3}
	for range 2 {
		var e *Error
		if err := p.Check("deep.yaml", deep, l); !errors.As(err, &e) || e.File != "deep.yaml" {
			t.Fatalf("got %v, want the depth refused at deep.yaml", err)
		}
	}
	if err := p.Check("ok.yaml", []byte("a: 1"), l); err != nil {
		t.Fatal(err)
	}
	if err := p.Check("same-content.yaml", []byte("a: 1"), l); err != nil {
		t.Fatal(err)
	}
}
