package labs

import (
	"reflect"
	"strings"

	"github.com/tailab/tailab/internal/yamlx"
)

// enums lists the valid values of fields, by "Type.Field".
var enums = map[string][]string{
	"Machine.Role": Roles, "Machine.Kind": {KindVM, KindContainer}, "Machine.OS": {OSWindows, OSLinux, OSNetwork},
	"Machine.Firmware": {"bios", "uefi"}, "Machine.Services": Services, "Network.Mode": {ModeIsolated, ModeNAT},
	"Parameter.Type": ParameterTypes, "Access.Via": {AccessSSH, AccessConsole},
}

// Schema returns the JSON Schema (draft 2020-12) of the lab file format, for
// editor completion and validation as the user types.
func Schema() map[string]any {
	s := schemaOf(reflect.TypeOf(Lab{}), "Lab")
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://tailab.dev/schema/lab.json"
	s["title"] = "tailab lab"
	s["required"] = []string{"name", "networks", "machines"}
	props := s["properties"].(map[string]any)
	props["defaults"] = map[string]any{"description": "fields merged into every machine", "type": "object"}
	props["roles"] = map[string]any{"description": "fields merged into the machines of a role", "type": "object",
		"propertyNames": map[string]any{"enum": Roles}}
	return s
}

var (
	sizeType     = reflect.TypeOf(Size(0))
	durationType = reflect.TypeOf(Duration(0))
	checkRefType = reflect.TypeOf(CheckRef{})
	posType      = reflect.TypeOf(yamlx.Pos{})
	positions    = reflect.TypeOf(yamlx.Positions{})
	credType     = reflect.TypeOf(Credential{})
)

func schemaOf(t reflect.Type, name string) map[string]any {
	switch t {
	case sizeType:
		return map[string]any{"description": "a size such as 512MiB or 2GiB (a bare number is MiB)",
			"oneOf": []any{map[string]any{"type": "integer", "minimum": 1}, map[string]any{"type": "string", "pattern": `^[0-9.]+\s*([KMGT]i?B?|B)?$`}}}
	case durationType:
		return map[string]any{"type": "string", "pattern": `^([0-9.]+(ns|us|ms|s|m|h))+$`, "description": "a duration such as 30s or 5m"}
	case credType:
		one := schemaOf(reflect.TypeOf(struct {
			User     string `yaml:"user"`
			Password string `yaml:"password"`
			Key      string `yaml:"key"`
			Domain   string `yaml:"domain"`
		}{}), name)
		return map[string]any{"description": "one credential, or several named identities (a check picks one with `as`)",
			"oneOf": []any{one, map[string]any{"type": "object", "minProperties": 1, "additionalProperties": one,
				"propertyNames": map[string]any{"pattern": identityRe.String()}}}}
	case checkRefType:
		return map[string]any{"type": "string", "minLength": 1, "description": "a check of the lab's suites: id, or suite/id"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), name)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), name)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), name)}
	case reflect.Struct:
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" || !f.IsExported() || f.Type == posType || f.Type == positions {
				continue
			}
			fs := schemaOf(f.Type, t.Name())
			if vals, ok := enums[t.Name()+"."+f.Name]; ok {
				if fs["type"] == "array" {
					fs["items"] = map[string]any{"enum": vals}
				} else {
					fs["enum"] = vals
				}
			}
			props[key] = fs
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	}
	return map[string]any{}
}
