package render

// Labels that gitfleet puts on every object it renders. They say where an object came from
// and let the reconciler find, and prune, only the objects it created.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedByValue = "gitfleet"
	LabelApp       = "gitfleet.dev/app"
	LabelFleet     = "gitfleet.dev/fleet"
)
