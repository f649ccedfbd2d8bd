package classify

import (
	"bytes"
	"strings"
	"unsafe"
)

// Small byte helpers shared by the parsers; all bounds are checked by the callers.

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func be24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

// lower folds an ASCII letter to lower case.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether b starts with the lower-case ASCII prefix p, ignoring case.
func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(b[i]) != p[i] {
			return false
		}
	}
	return true
}

// indexFold returns the first index of the lower-case ASCII needle in b, ignoring case, or -1.
func indexFold(b []byte, needle string) int {
	if len(needle) == 0 {
		return 0
	}
	n0 := needle[0]
	for i := 0; i+len(needle) <= len(b); i++ {
		if lower(b[i]) == n0 && hasPrefixFold(b[i:], needle) {
			return i
		}
	}
	return -1
}

// index returns the first index of needle in b (case-sensitive), or -1.
// It views b as a string without copying to use the vectorised search.
func index(b []byte, needle string) int {
	if len(b) == 0 {
		if len(needle) == 0 {
			return 0
		}
		return -1
	}
	return strings.Index(unsafe.String(&b[0], len(b)), needle)
}

// lineEnd returns the index of the first "\r\n" or "\n" in b, or -1.
func lineEnd(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i > 0 && b[i-1] == '\r' {
		return i - 1
	}
	return i
}

// fnv64 is FNV-1a over b: a cheap, allocation-free identity for opaque tokens.
func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// trimSpace trims ASCII spaces and tabs at both ends.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
