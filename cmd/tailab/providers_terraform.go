package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/internal/secret"
	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/terraform"
)

// extraProviders register back-ends that need no cgo, in every build
// (providers() calls them); the terraform provider is one.
var extraProviders = []func(*provision.Registry){
	func(r *provision.Registry) {
		r.Register(terraform.Name, func(map[string]string) (provision.Provider, error) {
			cfg, err := terraformConfig()
			if err != nil {
				return nil, err
			}
			return terraform.New(cfg), nil
		})
	},
}

// terraformSweeper, when the build has the libvirt provider, removes what a
// dead Terraform run left on the KVM host (TAILAB_TF_SWEEP=1).
var terraformSweeper func(uri string) terraform.Sweeper

// terraformConfig reads the terraform provider's configuration from the
// environment (TFE_* and TAILAB_TF_*; docs/terraform.md lists them).
func terraformConfig() (terraform.Config, error) {
	c := terraform.Config{
		Address:        os.Getenv("TFE_ADDRESS"),
		Token:          secret.New(os.Getenv("TFE_TOKEN")),
		Organization:   os.Getenv("TFE_ORGANIZATION"),
		Project:        os.Getenv("TFE_PROJECT"),
		AgentPool:      os.Getenv("TAILAB_TF_AGENT_POOL"),
		LibvirtURI:     os.Getenv("TAILAB_TF_LIBVIRT_URI"),
		Pool:           os.Getenv("TAILAB_TF_POOL"),
		ImageDir:       os.Getenv("TAILAB_TF_IMAGE_DIR"),
		ContainerImage: os.Getenv("TAILAB_TF_CONTAINER_IMAGE"),
	}
	var errs []error
	boolean := func(env string, dst *bool) {
		if v := os.Getenv(env); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want 1 or 0", env, v))
			}
			*dst = b
		}
	}
	duration := func(env string, dst *time.Duration) {
		if v := os.Getenv(env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 2s or 20m", env, v))
			}
			*dst = d
		}
	}
	boolean("TAILAB_TF_AUTO_APPLY", &c.AutoApply)
	if v := os.Getenv("TAILAB_TF_PARALLEL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("TAILAB_TF_PARALLEL=%q: want a positive number", v))
		}
		c.Parallel = n
	}
	duration("TAILAB_TF_POLL_INTERVAL", &c.PollInterval)
	duration("TAILAB_TF_RUN_TIMEOUT", &c.RunTimeout)
	duration("TAILAB_TF_RETRY_FOR", &c.RetryFor)
	duration("TAILAB_TF_STUCK_AFTER", &c.StuckAfter)
	var sweep bool
	boolean("TAILAB_TF_SWEEP", &sweep)
	if sweep {
		if terraformSweeper == nil {
			errs = append(errs, errors.New("TAILAB_TF_SWEEP=1 needs the libvirt provider: this tailab was built without it (-tags nolibvirt)"))
		} else {
			uri := c.LibvirtURI
			if uri == "" {
				uri = "qemu:///system"
			}
			c.Sweeper = terraformSweeper(uri)
		}
	}
	c.Complete()
	return c, errors.Join(errs...)
}

// writePlanModules is `up --dry-run --out DIR`: the plan's Terraform modules,
// one directory per workspace, for review.
func writePlanModules(cmd *cobra.Command, plan *provision.Plan, dir string) error {
	dirs, err := terraform.WriteModules(plan, dir)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		fmt.Fprintln(cmd.ErrOrStderr(), "wrote", d)
	}
	return nil
}
