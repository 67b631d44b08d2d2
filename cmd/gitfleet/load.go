package main

import (
	"context"
	"fmt"
	"io"

	"gitfleet.dev/gitfleet/reconciler/machines"

	"gitfleet.dev/gitfleet/reconciler"
	"gitfleet.dev/gitfleet/schema"
)

// loadRepo reads and validates a fleet repository at a revision. Problems are printed one
// per line (FILE:LINE:COLUMN: FIELD: message) and turned into exit code 1.
func loadRepo(ctx context.Context, dir, rev string, limits renderLimitFlags, stderr io.Writer) (*reconciler.Snapshot, *schema.Repo, error) {
	snap, err := reconciler.OpenSnapshot(ctx, dir, rev)
	if err != nil {
		return nil, nil, err
	}
	repo, err := schema.LoadWithOptions(ctx, snap.FS, limits.load())
	if err == nil {
		err = machines.CheckMeasuredCapacity(repo, machines.FactsFromStatus(snap.FS))
	}
	if list := schema.AsErrorList(err); list != nil {
		for _, e := range list {
			fmt.Fprintln(stderr, e.Error())
		}
		fmt.Fprintf(stderr, "%s: %d problem(s); nothing was rendered or applied\n", dir, len(list))
		return nil, nil, exitError{code: 1}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	return snap, repo, nil
}
