package main

import (
	"fmt"

	"github.com/spf13/cobra"

	tlversion "github.com/tailab/tailab/internal/version"
)

// version is stamped by the scripts that build tailab:
//
//	go build -ldflags "-X main.version=$(bash scripts/version.sh)" ./cmd/tailab
//
// Left empty by a plain `go build`: internal/version then reads the commit Go
// recorded in the binary.
var version string

// versionLine is what `tailab version` and `tailab --version` print.
const versionLine = "tailab {{.Version}}\n"

func versionString() string { return tlversion.String(version) }

func newVersionCommand(*globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tailab's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "tailab %s\n", cmd.Root().Version)
		},
	}
}
