package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// standaloneUser is who the standalone admin token authenticates as.
const standaloneUser = "portager-admin"

// applyStandalone replaces delegated authentication and authorization with one
// random admin token, and writes a kubeconfig that carries it. Requests without
// the token are refused, so standalone mode is local-only, not open.
func (o *Options) applyStandalone(cfg *genericapiserver.RecommendedConfig) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("generating admin token: %w", err)
	}
	token := hex.EncodeToString(secret)

	admin := &user.DefaultInfo{Name: standaloneUser, Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated}}
	cfg.Authentication.Authenticator = bearertoken.New(authenticator.TokenFunc(
		func(ctx context.Context, got string) (*authenticator.Response, bool, error) {
			if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				return nil, false, nil
			}
			return &authenticator.Response{User: admin}, true, nil
		}))
	cfg.Authorization.Authorizer = authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)

	ca, err := os.ReadFile(o.RecommendedOptions.SecureServing.ServerCert.CertKey.CertFile)
	if err != nil {
		return fmt.Errorf("reading serving certificate for the kubeconfig: %w", err)
	}
	port := cfg.SecureServing.Listener.Addr().(*net.TCPAddr).Port
	kubeconfig := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{"portager": {
			Server:                   "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			CertificateAuthorityData: ca,
		}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{standaloneUser: {Token: token}},
		Contexts:       map[string]*clientcmdapi.Context{"portager": {Cluster: "portager", AuthInfo: standaloneUser, Namespace: "default"}},
		CurrentContext: "portager",
	}
	if err := os.MkdirAll(filepath.Dir(o.StandaloneKubeconfig), 0o700); err != nil {
		return fmt.Errorf("creating kubeconfig directory: %w", err)
	}
	if err := clientcmd.WriteToFile(kubeconfig, o.StandaloneKubeconfig); err != nil {
		return fmt.Errorf("writing standalone kubeconfig: %w", err)
	}
	fmt.Fprintf(o.Out, "Standalone mode: use  export KUBECONFIG=%s\n", o.StandaloneKubeconfig)
	return nil
}
