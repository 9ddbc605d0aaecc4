package main

import (
	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/mapping"
)

type capabilitiesOptions struct {
	JSON bool

	g *globalOptions
}

func newCapabilitiesCommand(g *globalOptions, runF func(*capabilitiesOptions) error) *cobra.Command {
	opts := &capabilitiesOptions{g: g}
	cmd := &cobra.Command{
		Use:   "capabilities",
		Short: "Print the EWS-to-Graph capability map: what moves, what partly moves, what has no Graph form",
		Example: `  exmigrate capabilities
  exmigrate capabilities --json > capabilities.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return capabilitiesRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON instead of a table")
	return cmd
}

func capabilitiesRun(opts *capabilitiesOptions) error {
	caps := mapping.Capabilities()
	if opts.JSON {
		return mapping.WriteCapabilitiesJSON(opts.g.io.Out, caps)
	}
	return mapping.WriteCapabilitiesTable(opts.g.io.Out, caps)
}
