package static

// Schema returns the JSON Schema (draft 2020-12) of the inventory format, for
// editor completion (`tailab schema inventory`). ParseInventory is the
// authority: it also checks addresses, and Check the lab's names.
func Schema() map[string]any {
	ports := map[string]any{}
	for _, k := range PortKeys {
		ports[k] = map[string]any{"type": "integer", "minimum": 1, "maximum": 65535}
	}
	machine := map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"address":    map[string]any{"type": "string", "description": "the IP address or host name the grader dials"},
			"addresses":  map[string]any{"type": "object", "description": "lab network → the machine's address on it", "additionalProperties": map[string]any{"type": "string"}},
			"ports":      map[string]any{"type": "object", "description": "ports by transport when not the protocol's", "properties": ports, "additionalProperties": false},
			"tls_sha256": map[string]any{"type": "string", "description": "SHA-256 fingerprint of the WinRM listener's certificate"},
			"host_key":   map[string]any{"type": "string", "pattern": "^SHA256:", "description": "SHA256 fingerprint of the SSH host key (ssh-keygen -lf)"},
		},
	}
	return map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     "https://tailab.dev/schema/inventory.json",
		"title":   "tailab inventory (existing machines, --provider static)",
		"type":    "object", "additionalProperties": false, "required": []string{"candidates"},
		"properties": map[string]any{
			"lab":         map[string]any{"type": "string", "description": "the lab's name (checked at up)"},
			"known_hosts": map[string]any{"type": "string", "description": "an OpenSSH known_hosts file, relative to the inventory"},
			"machines":    map[string]any{"type": "object", "description": "per lab machine, for every candidate", "additionalProperties": machine},
			"candidates": map[string]any{"type": "object", "description": "candidate id → lab machine → machine", "minProperties": 1,
				"additionalProperties": map[string]any{"type": "object", "additionalProperties": machine}},
		},
	}
}
