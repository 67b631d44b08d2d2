package schema

import (
	"encoding/json"
	"testing"
)

func TestJSONSchemas(t *testing.T) {
	schemas := JSONSchemas()
	if len(schemas) != len(kinds) {
		t.Fatalf("%d schemas for %d kinds", len(schemas), len(kinds))
	}
	c := schemas[KindCluster]
	props := c["properties"].(map[string]any)
	spec := props["spec"].(map[string]any)["properties"].(map[string]any)
	machine := spec["machines"].(map[string]any)["items"].(map[string]any)
	if machine["additionalProperties"] != false {
		t.Error("machines accept unknown fields in the schema; the loader does not")
	}
	pw := machine["properties"].(map[string]any)["password"].(map[string]any)
	if pw["type"] != "object" {
		t.Errorf("password schema %v, want an object (a reference), never a string", pw)
	}
	req := machine["required"].([]string)
	if len(req) != 1 || req[0] != "ip" {
		t.Errorf("machine required fields %v, want [ip]", req)
	}
	if props["kind"].(map[string]any)["const"] != KindCluster {
		t.Error("kind is not pinned")
	}
	appSpec := schemas[KindApp]["properties"].(map[string]any)["spec"].(map[string]any)["properties"].(map[string]any)
	allow, ok := appSpec["plaintextAllowed"].(map[string]any)
	if !ok {
		t.Fatal("the App schema has no spec.plaintextAllowed")
	}
	if req := allow["items"].(map[string]any)["required"].([]string); len(req) != 1 || req[0] != "reason" {
		t.Errorf("plaintextAllowed required fields %v, want [reason]: an allowance without a reason is not reviewable", req)
	}
	if _, err := json.Marshal(schemas); err != nil {
		t.Fatal(err)
	}
}
