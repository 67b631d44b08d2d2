package harness

import (
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigEntry is one context of a kubeconfig: a cluster plus the client certificate to use.
type kubeconfigEntry struct {
	context string // also the name of the cluster entry
	user    string
	host    string
	caPEM   []byte
	client  *keyPair
}

// writeKubeconfig writes a kubeconfig with one context per entry; the first one is current.
// Credentials are embedded so the file works on its own, wherever it is copied.
func writeKubeconfig(path string, entries ...kubeconfigEntry) error {
	cfg := clientcmdapi.NewConfig()
	for i, e := range entries {
		cfg.Clusters[e.context] = &clientcmdapi.Cluster{Server: e.host, CertificateAuthorityData: e.caPEM}
		cfg.AuthInfos[e.user] = &clientcmdapi.AuthInfo{ClientCertificateData: e.client.certPEM, ClientKeyData: e.client.keyPEM}
		cfg.Contexts[e.context] = &clientcmdapi.Context{Cluster: e.context, AuthInfo: e.user}
		if i == 0 {
			cfg.CurrentContext = e.context
		}
	}
	return clientcmd.WriteToFile(*cfg, path)
}
