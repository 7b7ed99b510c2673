package terraform

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tailab/tailab/internal/secret"
)

// Settings maps each setting's environment variable to its Config key, for
// cmd, which reads the environment and calls Set (docs/terraform.md lists
// them; TAILAB_TF_SWEEP is cmd's: it builds the Sweeper).
var Settings = []struct{ Env, Key string }{
	{"TFE_ADDRESS", "address"}, {"TFE_TOKEN", "token"}, {"TFE_ORGANIZATION", "organization"}, {"TFE_PROJECT", "project"},
	{"TAILAB_TF_AGENT_POOL", "agent-pool"}, {"TAILAB_TF_AUTO_APPLY", "auto-apply"}, {"TAILAB_TF_LIBVIRT_URI", "libvirt-uri"},
	{"TAILAB_TF_POOL", "pool"}, {"TAILAB_TF_IMAGE_DIR", "image-dir"}, {"TAILAB_TF_CONTAINER_IMAGE", "container-image"},
	{"TAILAB_TF_PARALLEL", "parallel"}, {"TAILAB_TF_POLL_INTERVAL", "poll-interval"}, {"TAILAB_TF_RUN_TIMEOUT", "run-timeout"},
	{"TAILAB_TF_RETRY_FOR", "retry-for"}, {"TAILAB_TF_STUCK_AFTER", "stuck-after"},
}

// Set sets one setting from its text (key as in Settings); a value that does
// not parse is an error saying what is wanted.
func (c *Config) Set(key, value string) error {
	str := map[string]*string{"address": &c.Address, "organization": &c.Organization, "project": &c.Project,
		"agent-pool": &c.AgentPool, "libvirt-uri": &c.LibvirtURI, "pool": &c.Pool, "image-dir": &c.ImageDir, "container-image": &c.ContainerImage}
	dur := map[string]*time.Duration{"poll-interval": &c.PollInterval, "run-timeout": &c.RunTimeout, "retry-for": &c.RetryFor, "stuck-after": &c.StuckAfter}
	switch {
	case str[key] != nil:
		*str[key] = value
	case dur[key] != nil:
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q: want a duration such as 2s or 20m", value)
		}
		*dur[key] = d
	case key == "token":
		c.Token = secret.New(value)
	case key == "auto-apply":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%q: want 1 or 0", value)
		}
		c.AutoApply = b
	case key == "parallel":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return fmt.Errorf("%q: want a positive number", value)
		}
		c.Parallel = n
	default:
		return fmt.Errorf("unknown setting %q", key)
	}
	return nil
}
