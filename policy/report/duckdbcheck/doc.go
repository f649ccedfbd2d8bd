// Package duckdbcheck proves the Parquet output opens in DuckDB with the
// columns policy/report/PARQUET.md documents. It is a module of its own so
// that edgeaudit itself does not depend on DuckDB (a large cgo library);
// `make test` runs it after the main suite.
package duckdbcheck
