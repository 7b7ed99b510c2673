package labs

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tailab/tailab/internal/yamlx"
)

type yamlNode = yaml.Node

// Size is an amount of memory or disk in bytes. In YAML it is written with a
// unit (512MiB, 2GiB, 20G; K/M/G/T are binary multiples too) or as a bare
// integer number of MiB.
type Size int64

// Size units.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

// ParseSize parses a size such as "512MiB", "2G" or "1024" (MiB).
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	if num == "" {
		return 0, fmt.Errorf("size %q: expected a number with a unit such as 512MiB or 2GiB", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	mult := map[string]Size{"": MiB, "b": 1, "k": KiB, "kb": KiB, "kib": KiB, "m": MiB, "mb": MiB, "mib": MiB,
		"g": GiB, "gb": GiB, "gib": GiB, "t": TiB, "tb": TiB, "tib": TiB}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q (use KiB, MiB, GiB or TiB)", s, unit)
	}
	if f*float64(mult) > float64(1<<62) {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(f * float64(mult)), nil
}

// MiB returns the size in whole MiB, rounded up.
func (s Size) MiB() int64 { return int64((s + MiB - 1) / MiB) }

// String renders the size with the largest exact binary unit.
func (s Size) String() string {
	switch {
	case s == 0:
		return "0"
	case s%TiB == 0:
		return fmt.Sprintf("%dTiB", s/TiB)
	case s%GiB == 0:
		return fmt.Sprintf("%dGiB", s/GiB)
	case s%MiB == 0:
		return fmt.Sprintf("%dMiB", s/MiB)
	case s%KiB == 0:
		return fmt.Sprintf("%dKiB", s/KiB)
	}
	return fmt.Sprintf("%dB", int64(s))
}

// UnmarshalYAMLX decodes a size with a position-aware error.
func (s *Size) UnmarshalYAMLX(d *yamlx.Decoder, n *yaml.Node, field string) {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, field, "expected a size such as 512MiB or 2GiB")
		return
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		d.Errorf(n, field, "%v", err)
		return
	}
	*s = v
}

// MarshalText renders the size for JSON and YAML.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Duration is a time.Duration written as "30s" or "5m" in files and JSON.
type Duration time.Duration

// UnmarshalYAMLX decodes a duration with a position-aware error.
func (du *Duration) UnmarshalYAMLX(d *yamlx.Decoder, n *yaml.Node, field string) {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < 0 {
		d.Errorf(n, field, "expected a duration such as 30s or 5m, got %q", n.Value)
		return
	}
	*du = Duration(v)
}

// MarshalText renders the duration.
func (du Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(du).String()), nil }

// D returns the value as a time.Duration.
func (du Duration) D() time.Duration { return time.Duration(du) }
