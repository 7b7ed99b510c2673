package static

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestSchemaDescribesTheFormat: the schema's keys are the decoder's, at the
// top level and for a machine, so neither can drift from the other.
func TestSchemaDescribesTheFormat(t *testing.T) {
	keys := func(v any) string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			if k, _, _ := strings.Cut(rt.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
				out = append(out, k)
			}
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	props := func(m map[string]any) string {
		var out []string
		for k := range m["properties"].(map[string]any) {
			out = append(out, k)
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	s := Schema()
	if got, want := props(s), keys(Inventory{}); got != want {
		t.Errorf("top-level keys: schema %q, decoder %q", got, want)
	}
	machine := s["properties"].(map[string]any)["machines"].(map[string]any)["additionalProperties"].(map[string]any)
	if got, want := props(machine), keys(Machine{}); got != want {
		t.Errorf("machine keys: schema %q, decoder %q", got, want)
	}
	ports := machine["properties"].(map[string]any)["ports"].(map[string]any)
	if got, want := props(ports), strings.Join(sortedKeys(DefaultPorts), " "); got != want {
		t.Errorf("port keys: schema %q, the protocols' defaults %q", got, want)
	}
}
