package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/audit"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show the enforced rules, check or draft a topology file",
	}
	cmd.AddCommand(newPolicyShowCmd(), newPolicyCheckCmd(), newPolicyInitCmd())
	return cmd
}

func newPolicyShowCmd() *cobra.Command {
	var topo, rules string
	cmd := &cobra.Command{
		Use:   "show [--topology FILE] [--policy FILE]",
		Short: "Print the effective rule table, one row per rule id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rs := policy.DefaultRules()
			if rules != "" {
				var err error
				if rs, err = policy.LoadRules(rules); err != nil {
					return usageErr("%v", err)
				}
			}
			var t *policy.Topology
			if topo != "" {
				var err error
				if t, err = policy.LoadTopology(topo); err != nil {
					return usageErr("%v", err)
				}
			}
			return policy.WriteTable(cmd.OutOrStdout(), rs, t)
		},
	}
	cmd.Flags().StringVar(&topo, "topology", "", "topology file: show the concrete addresses of each role and which options are on")
	cmd.Flags().StringVar(&rules, "policy", "", "rules file replacing the built-in rules")
	return cmd
}

func newPolicyCheckCmd() *cobra.Command {
	var topo string
	cmd := &cobra.Command{
		Use:   "check --topology FILE",
		Short: "Validate a topology file: syntax with line numbers, overlaps, missing VIPs, HLB-04",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topo == "" {
				return usageErr("policy check needs --topology FILE")
			}
			t, err := policy.LoadTopology(topo)
			if err != nil {
				return usageErr("%v", err)
			}
			problems := policy.Check(t)
			worst := policy.Info
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p.String())
				worst = max(worst, p.Severity)
			}
			if len(problems) == 0 || worst < policy.Warning {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", topo)
				return nil
			}
			return &exitError{code: exitFindings}
		},
	}
	cmd.Flags().StringVar(&topo, "topology", "", "topology file to check")
	return cmd
}

func newPolicyInitCmd() *cobra.Command {
	var from []string
	cmd := &cobra.Command{
		Use:   "init [--from CAPTURE...]",
		Short: "Print a commented topology template, or draft one from a capture",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(from) == 0 {
				_, err := cmd.OutOrStdout().Write(policy.Template())
				return err
			}
			paths, _, err := expandInputs(from)
			if err != nil {
				return usageErr("%v", err)
			}
			inputs, problems := audit.OpenFiles(paths)
			for _, p := range problems {
				fmt.Fprintln(os.Stderr, "edgeaudit:", p.Message)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			inf, _, err := audit.Infer(ctx, inputs, audit.Options{})
			if errors.Is(err, audit.ErrNoInput) || inf == nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("%v: nothing to draft from", from)}
			}
			_, err = cmd.OutOrStdout().Write(policy.Draft(inf))
			return err
		},
	}
	cmd.Flags().StringSliceVar(&from, "from", nil, "draft the topology from what these captures show")
	return cmd
}
