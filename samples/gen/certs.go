package main

// Deterministic X.509 certificates. Ed25519 signatures carry no
// randomness, so a fixed seed, serial and validity period give the same
// DER bytes on every run; the TLS Certificate messages therefore hold real,
// parseable certificates without committing any key material.

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"time"
)

// certKey is a certificate with the key that signs for it.
type certKey struct {
	der  []byte
	key  ed25519.PrivateKey
	cert *x509.Certificate
}

func seedKey(label string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("edgeaudit samples key " + label))
	return ed25519.NewKeyFromSeed(s[:])
}

// zeroReader feeds CreateCertificate where it insists on a reader; with
// Ed25519 and an explicit serial nothing random is read from it.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

var (
	notBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
)

func mkCert(serial int64, cn string, sans []string, isCA bool, parent *certKey, label string, eku []x509.ExtKeyUsage) *certKey {
	key := seedKey(label)
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Contoso Ltd"}, Country: []string{"US"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		DNSNames:              sans,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		ExtKeyUsage:           eku,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if isCA {
		tpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	pc, pk := tpl, key
	if parent != nil {
		pc, pk = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(zeroReader{}, tpl, pc, key.Public(), pk)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return &certKey{der: der, key: key, cert: c}
}

var both = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

// The certificate set of the sample pool. As in a real Edge deployment one
// external certificate serves Access, Web Conferencing and XMPP (its SANs
// name all of them), and the internal interface has its own certificate
// with a subject name only.
var (
	certCA       = mkCert(0x1001, "Contoso Issuing CA 01", nil, true, nil, "ca", nil)
	certExternal = mkCert(0x2a17c3, "sip.contoso.com",
		[]string{"sip.contoso.com", "webcon.contoso.com", "xmpp.contoso.com", "sip.fabrikam.net"}, false, certCA, "edge-ext", both)
	certInternal = mkCert(0x2a17c4, "edgepool.contoso.local", nil, false, certCA, "edge-int", both)
	certFE       = mkCert(0x2a17c5, "fepool.contoso.local", []string{"fepool.contoso.local", "fe01.contoso.local"}, false, certCA, "fe", both)
	certPartner  = mkCert(0x7701, "sip.partner.example", []string{"sip.partner.example"}, false, certCA, "partner", both)
	certXMPPPeer = mkCert(0x7702, "xmpp.partner.example", []string{"xmpp.partner.example"}, false, certCA, "xmpppeer", both)
	certWeb      = mkCert(0x9001, "www.example.org", []string{"www.example.org"}, false, certCA, "web", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
)

// crlDER is the issuing CA's CRL the Access Edge downloads over HTTP: a
// real, signed DER CRL with a few revoked serials.
var crlDER = func() []byte {
	var revoked []x509.RevocationListEntry
	for i := int64(0); i < 12; i++ {
		revoked = append(revoked, x509.RevocationListEntry{
			SerialNumber:   big.NewInt(0x2a1000 + i*17),
			RevocationTime: time.Date(2026, 2, 1+int(i), 8, 0, 0, 0, time.UTC),
		})
	}
	der, err := x509.CreateRevocationList(zeroReader{}, &x509.RevocationList{
		Number:                    big.NewInt(42),
		ThisUpdate:                time.Date(2026, 3, 9, 6, 0, 0, 0, time.UTC),
		NextUpdate:                time.Date(2026, 3, 16, 6, 0, 0, 0, time.UTC),
		RevokedCertificateEntries: revoked,
	}, certCA.cert, certCA.key)
	if err != nil {
		panic(err)
	}
	return der
}()
