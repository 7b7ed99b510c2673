package main

import (
	"fmt"
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
			if provider != terraform.Name {
				return errclass.Usagef("doctor checks --provider terraform (the libvirt provider's needs are checked by `tailab up --dry-run`)")
			}
			cfg, err := terraformConfig()
			if err != nil {
				return errclass.Wrap(errclass.Usage, err)
			}
			checks := terraform.New(cfg).Doctor(cmd.Context(), terraform.DoctorOptions{CLIConfigFile: os.Getenv("TF_CLI_CONFIG_FILE"), Terraform: tfBin})
			t := newTable(cmd.OutOrStdout(), "CHECK", "STATUS", "DETAIL")
			failed := 0
			for _, c := range checks {
				t.row(c.Name, c.Status, c.Detail)
				if c.Status == terraform.CheckFail {
					failed++
				}
			}
			if err := t.flush(); err != nil {
				return err
			}
			for _, c := range checks {
				if c.Status != terraform.CheckOK {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", c.Name, c.Fix)
				}
			}
			if failed > 0 {
				return errclass.Wrap(errclass.Failed, fmt.Errorf("%d check(s) failed", failed))
			}
			return nil
		},
	}
	c.Flags().StringVar(&provider, "provider", terraform.Name, "the provider whose needs to check: terraform")
	c.Flags().StringVar(&tfBin, "terraform", "", "the terraform binary the worker runs (default: terraform on PATH; OTF: ENGINE_BINS_DIR/VERSION/terraform)")
	return c
}
