package labs

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSchemaDescribesTheFormat(t *testing.T) {
	b, err := json.Marshal(Schema())
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Items struct {
				Properties           map[string]map[string]any `json:"properties"`
				AdditionalProperties *bool                     `json:"additionalProperties"`
			} `json:"items"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"name", "parameters", "secrets", "networks", "defaults", "roles", "machines", "checks", "solution", "mutations"} {
		if _, ok := s.Properties[key]; !ok {
			t.Errorf("schema lacks top-level %q", key)
		}
	}
	m := s.Properties["machines"].Items
	if m.AdditionalProperties == nil || *m.AdditionalProperties {
		t.Error("machines must reject unknown keys (additionalProperties: false)")
	}
	role, _ := json.Marshal(m.Properties["role"]["enum"])
	if !strings.Contains(string(role), `"network-device"`) {
		t.Errorf("role enum = %s", role)
	}
	for _, key := range []string{"kind", "os", "image", "services", "cpus", "memory", "disks", "nics", "credentials", "ready", "files", "firmware", "hostname"} {
		if _, ok := m.Properties[key]; !ok {
			t.Errorf("schema lacks machines[].%s", key)
		}
	}
	mut := s.Properties["mutations"].Items.Properties
	for _, key := range []string{"name", "title", "steps", "fails", "na"} {
		if _, ok := mut[key]; !ok {
			t.Errorf("schema lacks mutations[].%s", key)
		}
	}
	if fails, _ := json.Marshal(mut["fails"]["items"]); !strings.Contains(string(fails), `"type":"string"`) {
		t.Errorf("mutations[].fails items = %s, want check ids (strings)", fails)
	}
	if strings.Contains(string(b), `"Pos"`) || strings.Contains(string(b), `"At"`) {
		t.Error("internal position fields leak into the schema")
	}
}
