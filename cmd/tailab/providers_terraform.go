package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/terraform"
)

// extraProviders register back-ends that need no cgo, in every build
// (providers() calls them); the terraform provider is one.
var extraProviders = []func(*provision.Registry){
	func(r *provision.Registry) {
		r.Register(terraform.Name, func() (provision.Provider, error) {
			cfg, err := terraformConfig() // the registry's callers check err first
			return terraform.New(cfg), err
		})
	},
}

// terraformSweeper, when the build has the libvirt provider, removes what a
// dead Terraform run left on the KVM host (TAILAB_TF_SWEEP=1): objects by
// name at the QEMU URI, volumes in the pool.
var terraformSweeper func(uri, pool string) terraform.Sweeper

// terraformConfig reads the terraform provider's configuration from the
// environment (TFE_* and TAILAB_TF_*: terraform.Settings, docs/terraform.md).
func terraformConfig() (terraform.Config, error) {
	var c terraform.Config
	var errs []error
	for _, st := range terraform.Settings {
		if v := os.Getenv(st.Env); v != "" {
			if err := c.Set(st.Key, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%w", st.Env, err))
			}
		}
	}
	c.Complete()
	if sweep, _ := strconv.ParseBool(os.Getenv("TAILAB_TF_SWEEP")); sweep {
		if terraformSweeper == nil {
			errs = append(errs, errors.New("TAILAB_TF_SWEEP=1 needs the libvirt provider: this tailab was built without it (-tags nolibvirt)"))
		} else {
			c.Sweeper = terraformSweeper(c.LibvirtURI, c.Pool)
		}
	}
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
