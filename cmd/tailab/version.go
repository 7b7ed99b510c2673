package main

import (
	"fmt"

	"github.com/spf13/cobra"

	tlversion "github.com/tailab/tailab/internal/version"
)

// version is stamped at build: go build -ldflags "-X main.version=$(bash
// scripts/version.sh)". Left empty, internal/version reads the commit Go
// recorded in the binary. `tailab version` and `--version` print it alike.
var version string

const versionLine = "tailab {{.Version}}\n"

func versionString() string { return tlversion.String(version) }

func newVersionCommand(*globalOptions) *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print tailab's version", Args: cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "tailab %s\n", cmd.Root().Version)
		}}
}
