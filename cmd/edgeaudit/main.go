// Command edgeaudit audits captures of a Lync Server 2013 / Skype for
// Business Edge pool behind hardware load balancers: unexpected ports, SNAT
// on A/V, asymmetric returns and one-way SIP, each finding citing the
// requirement it breaks.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes of the contract.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "edgeaudit:", ee.err)
		}
		return ee.code
	}
	// cobra's own errors are flag and argument mistakes.
	fmt.Fprintln(os.Stderr, "edgeaudit:", err)
	return exitUsage
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "edgeaudit",
		Short: "Audit captures of a Lync/Skype for Business Edge pool behind load balancers",
		Long: `edgeaudit reads pcap/pcapng captures (plain or gzip, zstd, lz4, bzip2, xz
compressed) or sniffs a SPAN port, rebuilds every conversation, classifies it
(SIP, PSOM, STUN/MS-TURN, XMPP, CLS, RTP, DNS, HTTP, TLS) from its payload, and
checks it against Microsoft's Edge port tables and load-balancer requirements.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAuditCmd(), newViewCmd(), newLiveCmd(), newMergeCmd(), newPolicyCmd(), newVersionCmd())
	return root
}
