package main

import (
	"cmp"
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/tailab/tailab/internal/errclass"
	"github.com/tailab/tailab/provision/terraform"
)

// newDoctorCommand: tailab doctor --provider terraform checks what the
// provider needs (docs/terraform.md, "The worker's needs").
func newDoctorCommand(g *globalOptions) *cobra.Command {
	var provider, tfBin string
	c := &cobra.Command{
		Use:   "doctor --provider terraform",
		Short: "Check what a provider needs: settings, server, and the worker's tools, Terraform and provider mirror",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := terraformConfig()
			if provider != terraform.Name || err != nil {
				return errclass.Wrap(errclass.Usage, cmp.Or(err, errors.New("doctor checks --provider terraform")))
			}
			checks := terraform.New(cfg).Doctor(cmd.Context(), terraform.DoctorOptions{CLIConfigFile: os.Getenv("TF_CLI_CONFIG_FILE"), Terraform: tfBin})
			return terraform.WriteChecks(cmd.OutOrStdout(), checks)
		},
	}
	c.Flags().StringVar(&provider, "provider", terraform.Name, "the provider whose needs to check: terraform")
	c.Flags().StringVar(&tfBin, "terraform", "", "the terraform binary the worker runs (default: terraform on PATH; OTF: ENGINE_BINS_DIR/VERSION/terraform)")
	return c
}
