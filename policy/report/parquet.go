package report

// Parquet output: flows, findings and per-file rows of a batch as three
// Parquet files, for DuckDB, Spark or Trino over a whole archive. The
// schema is documented in PARQUET.md; ParquetSchemaVersion changes with
// any change of a column's name, type or meaning.

import (
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// ParquetSchema names the schema; it is in every file's key/value
// metadata under ParquetSchemaKey, and ParquetSchemaVersion is in every
// row's schema_version column.
const (
	ParquetSchema        = "edgeaudit.parquet/v1"
	ParquetSchemaKey     = "edgeaudit.schema"
	ParquetSchemaVersion = 1
)

// Parquet file names in the output directory.
const (
	ParquetFlows    = "flows.parquet"
	ParquetFindings = "findings.parquet"
	ParquetFiles    = "files.parquet"
)

// FlowRow is one row of flows.parquet.
type FlowRow struct {
	SchemaVersion int32    `parquet:"schema_version"`
	File          string   `parquet:"file,dict"`
	Group         string   `parquet:"group,dict"`
	Point         string   `parquet:"point,dict"`
	ID            string   `parquet:"id"`
	CommunityID   string   `parquet:"community_id"`
	Transport     string   `parquet:"transport,dict"`
	Client        string   `parquet:"client"`
	Server        string   `parquet:"server"`
	ClientIP      string   `parquet:"client_ip"`
	ClientPort    int32    `parquet:"client_port"`
	ServerIP      string   `parquet:"server_ip"`
	ServerPort    int32    `parquet:"server_port"`
	App           string   `parquet:"app,dict"`
	AppDetail     string   `parquet:"app_detail,dict"`
	ClientRole    string   `parquet:"client_role,dict"`
	ServerRole    string   `parquet:"server_role,dict"`
	Rule          *string  `parquet:"rule,optional,dict"`
	PacketsC2S    int64    `parquet:"packets_c2s"`
	PacketsS2C    int64    `parquet:"packets_s2c"`
	BytesC2S      int64    `parquet:"bytes_c2s"`
	BytesS2C      int64    `parquet:"bytes_s2c"`
	First         int64    `parquet:"first,timestamp(nanosecond)"`
	Last          int64    `parquet:"last,timestamp(nanosecond)"`
	EndReason     string   `parquet:"end_reason,dict"`
	Findings      []string `parquet:"findings,list"`
}

// FindingRow is one row of findings.parquet.
type FindingRow struct {
	SchemaVersion   int32    `parquet:"schema_version"`
	File            string   `parquet:"file,dict"`
	Files           []string `parquet:"files,list"`
	Group           string   `parquet:"group,dict"`
	ID              string   `parquet:"id"`
	Kind            string   `parquet:"kind,dict"`
	Severity        string   `parquet:"severity,dict"`
	Requirement     string   `parquet:"requirement,dict"`
	Rule            string   `parquet:"rule,dict"`
	Message         string   `parquet:"message"`
	Consequence     string   `parquet:"consequence"`
	Fix             string   `parquet:"fix"`
	Count           int64    `parquet:"count"`
	Flows           []string `parquet:"flows,list"`
	Evidence        []string `parquet:"evidence,list"`
	FirstEvidence   int64    `parquet:"first_evidence,timestamp(nanosecond)"`
	WiresharkFilter string   `parquet:"wireshark_filter"`
}

// FileParquetRow is one row of files.parquet: a capture file read.
type FileParquetRow struct {
	SchemaVersion int32  `parquet:"schema_version"`
	File          string `parquet:"file"`
	Group         string `parquet:"group,dict"`
	Point         string `parquet:"point"`
	Format        string `parquet:"format,dict"`
	Compression   string `parquet:"compression,dict"`
	Packets       int64  `parquet:"packets"`
	Bytes         int64  `parquet:"bytes"`
	Flows         int64  `parquet:"flows"`
	Errors        int64  `parquet:"errors"`
	Warnings      int64  `parquet:"warnings"`
	Infos         int64  `parquet:"infos"`
	First         int64  `parquet:"first,timestamp(nanosecond)"`
	Last          int64  `parquet:"last,timestamp(nanosecond)"`
	DecodeErrors  int64  `parquet:"decode_errors"`
	Damaged       string `parquet:"damaged"`
}

// ParquetWriter streams a batch into the three Parquet files.
type ParquetWriter struct {
	flows    *parquet.GenericWriter[FlowRow]
	findings *parquet.GenericWriter[FindingRow]
	files    *parquet.GenericWriter[FileParquetRow]
	fbuf     []FlowRow
}

// NewParquetWriter writes flows, findings and files rows to the writers.
func NewParquetWriter(flows, findings, files io.Writer) *ParquetWriter {
	opts := func() []parquet.WriterOption {
		return []parquet.WriterOption{
			parquet.KeyValueMetadata(ParquetSchemaKey, ParquetSchema),
			parquet.Compression(&parquet.Zstd),
			parquet.CreatedBy("edgeaudit", "", ""),
		}
	}
	return &ParquetWriter{
		flows:    parquet.NewGenericWriter[FlowRow](flows, opts()...),
		findings: parquet.NewGenericWriter[FindingRow](findings, opts()...),
		files:    parquet.NewGenericWriter[FileParquetRow](files, opts()...),
	}
}

func parseTime(s string) int64 {
	if s == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return t.UnixNano()
}

func splitEndpoint(s string) (string, int32) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return s, 0
	}
	return ap.Addr().String(), int32(ap.Port())
}

// Group writes a group's (or a whole report's) rows.
func (p *ParquetWriter) Group(r *Report, group string) error {
	x := NewFileIndex(r)
	p.fbuf = p.fbuf[:0]
	flush := func() error {
		if len(p.fbuf) == 0 {
			return nil
		}
		_, err := p.flows.Write(p.fbuf)
		p.fbuf = p.fbuf[:0]
		return err
	}
	if err := r.EachFlow(func(f *Flow) error {
		row := FlowRow{SchemaVersion: ParquetSchemaVersion, Group: group, Point: f.Point, ID: f.ID, CommunityID: f.CommunityID,
			Transport: f.Transport, Client: f.Client, Server: f.Server, App: f.App, AppDetail: f.AppDetail,
			ClientRole: f.ClientRole, ServerRole: f.ServerRole, Rule: f.Rule,
			PacketsC2S: int64(f.Packets.C2S), PacketsS2C: int64(f.Packets.S2C), BytesC2S: int64(f.Bytes.C2S), BytesS2C: int64(f.Bytes.S2C),
			First: parseTime(f.First), Last: parseTime(f.Last), EndReason: f.End, Findings: f.Findings}
		if row.Findings == nil {
			row.Findings = []string{}
		}
		row.ClientIP, row.ClientPort = splitEndpoint(f.Client)
		row.ServerIP, row.ServerPort = splitEndpoint(f.Server)
		if k := x.FlowFile(f); k >= 0 {
			row.File = x.Path(k)
		}
		p.fbuf = append(p.fbuf, row)
		if len(p.fbuf) == 4096 {
			return flush()
		}
		return nil
	}); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	for i := range r.Findings {
		if err := p.finding(&r.Findings[i], x.FindingFileNames(&r.Findings[i]), group); err != nil {
			return err
		}
	}
	rows := FileRows(r, group)
	out := make([]FileParquetRow, len(rows))
	for i, fr := range rows {
		in := &r.Inputs[i]
		out[i] = FileParquetRow{SchemaVersion: ParquetSchemaVersion, File: fr.File, Group: group, Point: in.Point,
			Format: in.Format, Compression: in.Compression, Packets: int64(fr.Packets), Bytes: int64(fr.Bytes),
			Flows: int64(fr.Flows), Errors: int64(fr.Error), Warnings: int64(fr.Warning), Infos: int64(fr.Info),
			First: parseTime(in.First), Last: parseTime(in.Last), DecodeErrors: int64(in.DecodeErrors), Damaged: in.Error}
	}
	if len(out) > 0 {
		if _, err := p.files.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// Finding writes a finding that belongs to no group, about path.
func (p *ParquetWriter) Finding(f *Finding, path string) error {
	var files []string
	if path != "" {
		files = []string{path}
	}
	return p.finding(f, files, "")
}

func (p *ParquetWriter) finding(f *Finding, files []string, group string) error {
	row := FindingRow{SchemaVersion: ParquetSchemaVersion, Files: files, Group: group, ID: f.ID, Kind: f.Kind,
		Severity: f.Severity, Requirement: f.Requirement, Rule: f.Rule, Message: f.Message, Consequence: f.Consequence,
		Fix: f.Fix, Count: int64(f.Count), Flows: f.Flows, WiresharkFilter: f.WiresharkFilter, Evidence: []string{}}
	if row.Files == nil {
		row.Files = []string{}
	}
	if row.Flows == nil {
		row.Flows = []string{}
	}
	if len(files) > 0 {
		row.File = files[0]
	}
	for _, e := range f.Evidence {
		row.Evidence = append(row.Evidence, e.Point+"#"+strconv.FormatUint(e.Packet, 10)+" "+strings.TrimSpace(e.Detail))
		if t := parseTime(e.Time); t != 0 && (row.FirstEvidence == 0 || t < row.FirstEvidence) {
			row.FirstEvidence = t
		}
	}
	_, err := p.findings.Write([]FindingRow{row})
	return err
}

// Close finishes the three files (it does not close the writers).
func (p *ParquetWriter) Close() error {
	err := p.flows.Close()
	if e := p.findings.Close(); err == nil {
		err = e
	}
	if e := p.files.Close(); err == nil {
		err = e
	}
	return err
}
