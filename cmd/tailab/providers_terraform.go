package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/provision"
	"github.com/tailab/tailab/provision/terraform"
)

// extraProviders register back-ends that need no cgo, in every build
// (providers() calls them); the terraform provider is one.
var extraProviders = []func(*provision.Registry){
	func(r *provision.Registry) { r.Register(terraform.Name, terraform.Factory) },
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
