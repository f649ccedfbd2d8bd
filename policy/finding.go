package policy

import (
	"fmt"
	"time"
)

// Severity orders findings by what they break.
type Severity uint8

// Severities, lowest first so that comparisons read naturally.
const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// ParseSeverity reads the contract's severity names (for --fail-on).
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "error":
		return Error, nil
	case "warning":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", s)
}

// Kind is a finding's kind, as named in the report contract.
type Kind string

// The finding kinds of the report contract.
const (
	KindUnexpectedPort   Kind = "unexpected-port"
	KindProtocolMismatch Kind = "protocol-mismatch"
	KindSNATAV           Kind = "snat-av"
	KindAsymmetricReturn Kind = "asymmetric-return"
	KindOneWaySIP        Kind = "one-way-sip"
	KindDefaultGateway   Kind = "default-gateway"
	KindInternalRouting  Kind = "internal-routing"
	KindTopology         Kind = "topology"
	KindInput            Kind = "input"
)

// Evidence is one packet that proves a finding, located so a user can find
// it in Wireshark: capture point name and frame number.
type Evidence struct {
	Point  string
	Packet uint64
	Time   time.Time
	Detail string
}

// Finding is one problem established from the packets or the inputs.
// Strings may carry packet-derived text; sinks sanitise before display.
type Finding struct {
	ID          string // assigned by the report in a stable order
	Kind        Kind
	Severity    Severity
	Requirement string // id from edge-port-policy.md: GEN-01, HLB-02...
	Rule        string // port rule id the finding concerns, if any
	Message     string // one sentence: what is wrong
	Consequence string // what it breaks
	Fix         string // what to change
	Flows       []string
	Evidence    []Evidence
	Filter      string // Wireshark display filter showing the evidence
	Count       int    // occurrences aggregated into this finding (>= 1)
	// Subject is what repeats of this finding share (e.g. "tcp 198.51.100.11:22"),
	// so that they aggregate into one finding with a count; empty means
	// the message itself.
	Subject string

	brief uint8 // what VerdictBrief left to Describe: briefNote, briefText
}

const (
	briefNote = 1 << iota // the filter, and the inferred-roles note
	briefText             // an unexpected port's message and fix
)
