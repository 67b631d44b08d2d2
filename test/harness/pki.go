package harness

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certValidity is long enough for any test run or demo session and short enough that a leaked
// WorkDir is not a long-lived credential.
const certValidity = 7 * 24 * time.Hour

// keyPair is a certificate with its private key, kept both parsed (to sign with) and PEM-encoded
// (to write into files and kubeconfigs).
type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// clusterPKI holds every credential one cluster needs. Each cluster gets its own CA and
// service-account key, like independent real clusters: a client certificate or a token of one
// cluster is not accepted by another.
type clusterPKI struct {
	ca        *keyPair
	apiserver *keyPair // serving certificate of kube-apiserver
	serving   *keyPair // serving certificate of kube-controller-manager and kube-scheduler
	admin     *keyPair // CN=admin, O=system:masters
	kcm       *keyPair // CN=system:kube-controller-manager
	scheduler *keyPair // CN=system:kube-scheduler

	// The aggregation layer's front proxy, set up as kubeadm does: without it the apiserver
	// publishes no request-header CA, and every component that delegates authentication to it
	// (kube-controller-manager, kube-scheduler) logs an error about it in a loop.
	frontProxyCA     *keyPair
	frontProxyClient *keyPair // CN=front-proxy-client

	saKeyPEM []byte // service-account token signing key (private)
	saPubPEM []byte // its public half, for token verification

	// Files the components read, written by writeFiles.
	caFile, apiserverCertFile, apiserverKeyFile string
	servingCertFile, servingKeyFile             string
	saKeyFile, saPubFile                        string
	frontProxyCAFile                            string
	proxyClientCertFile, proxyClientKeyFile     string
}

// newKey returns an ECDSA P-256 key: generating one takes microseconds where RSA takes tens of
// milliseconds, and every component used here accepts it (ES256 for service-account tokens).
func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// newCA creates a self-signed certificate authority.
func newCA(commonName string) (*keyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour), // tolerate small clock differences
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return sign(tmpl, key, tmpl, key)
}

// certSpec describes a leaf certificate to issue.
type certSpec struct {
	commonName    string
	organizations []string
	dnsNames      []string
	ips           []net.IP
	usage         x509.ExtKeyUsage
}

// issue creates a leaf certificate signed by ca.
func (ca *keyPair) issue(spec certSpec) (*keyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.commonName, Organization: spec.organizations},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{spec.usage},
		DNSNames:     spec.dnsNames,
		IPAddresses:  spec.ips,
	}
	return sign(tmpl, key, ca.cert, ca.key)
}

func sign(tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey crypto.Signer) (*keyPair, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  keyPEM,
	}, nil
}

// newClusterPKI generates all credentials of one cluster.
func newClusterPKI(cluster string) (*clusterPKI, error) {
	ca, err := newCA("gitfleet-harness-" + cluster + "-ca")
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	p := &clusterPKI{ca: ca}
	for _, c := range []struct {
		dst  **keyPair
		spec certSpec
	}{
		{&p.apiserver, certSpec{
			commonName: "kube-apiserver",
			// In-cluster names are included so the certificate looks like a real cluster's,
			// even though only the loopback address is ever dialed.
			dnsNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			ips:      append(loopback, net.IPv4(10, 96, 0, 1)), // first IP of --service-cluster-ip-range
			usage:    x509.ExtKeyUsageServerAuth,
		}},
		{&p.serving, certSpec{
			commonName: "gitfleet-harness-" + cluster + "-components",
			dnsNames:   []string{"localhost"},
			ips:        loopback,
			usage:      x509.ExtKeyUsageServerAuth,
		}},
		{&p.admin, certSpec{commonName: "admin", organizations: []string{"system:masters"}, usage: x509.ExtKeyUsageClientAuth}},
		{&p.kcm, certSpec{commonName: "system:kube-controller-manager", usage: x509.ExtKeyUsageClientAuth}},
		{&p.scheduler, certSpec{commonName: "system:kube-scheduler", usage: x509.ExtKeyUsageClientAuth}},
	} {
		kp, err := ca.issue(c.spec)
		if err != nil {
			return nil, fmt.Errorf("issue certificate %q: %w", c.spec.commonName, err)
		}
		*c.dst = kp
	}

	if p.frontProxyCA, err = newCA("gitfleet-harness-" + cluster + "-front-proxy-ca"); err != nil {
		return nil, fmt.Errorf("create front-proxy CA: %w", err)
	}
	if p.frontProxyClient, err = p.frontProxyCA.issue(certSpec{commonName: "front-proxy-client", usage: x509.ExtKeyUsageClientAuth}); err != nil {
		return nil, fmt.Errorf("issue front-proxy client certificate: %w", err)
	}

	saKey, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("create service-account key: %w", err)
	}
	if p.saKeyPEM, err = encodeKey(saKey); err != nil {
		return nil, fmt.Errorf("encode service-account key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, fmt.Errorf("encode service-account public key: %w", err)
	}
	p.saPubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	return p, nil
}

// writeFiles writes the files that the components take as flags into dir. Client credentials
// are not written here: they are embedded in the kubeconfigs.
func (p *clusterPKI) writeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p.caFile = filepath.Join(dir, "ca.crt")
	p.apiserverCertFile = filepath.Join(dir, "apiserver.crt")
	p.apiserverKeyFile = filepath.Join(dir, "apiserver.key")
	p.servingCertFile = filepath.Join(dir, "serving.crt")
	p.servingKeyFile = filepath.Join(dir, "serving.key")
	p.saKeyFile = filepath.Join(dir, "sa.key")
	p.saPubFile = filepath.Join(dir, "sa.pub")
	p.frontProxyCAFile = filepath.Join(dir, "front-proxy-ca.crt")
	p.proxyClientCertFile = filepath.Join(dir, "front-proxy-client.crt")
	p.proxyClientKeyFile = filepath.Join(dir, "front-proxy-client.key")
	for _, f := range []struct {
		path string
		data []byte
	}{
		{p.caFile, p.ca.certPEM},
		{p.apiserverCertFile, p.apiserver.certPEM},
		{p.apiserverKeyFile, p.apiserver.keyPEM},
		{p.servingCertFile, p.serving.certPEM},
		{p.servingKeyFile, p.serving.keyPEM},
		{p.saKeyFile, p.saKeyPEM},
		{p.saPubFile, p.saPubPEM},
		{p.frontProxyCAFile, p.frontProxyCA.certPEM},
		{p.proxyClientCertFile, p.frontProxyClient.certPEM},
		{p.proxyClientKeyFile, p.frontProxyClient.keyPEM},
	} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// caPool returns a pool holding only the cluster CA, to verify the cluster's serving certificates.
func (p *clusterPKI) caPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.cert)
	return pool
}
