package render

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"gitfleet.dev/gitfleet/render/order"
)

// Sort orders objects deterministically, as they are printed and applied (see package
// order).
func Sort(objs []*unstructured.Unstructured) { order.Sort(objs) }
