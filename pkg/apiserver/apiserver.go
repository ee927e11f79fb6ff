package apiserver

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"github.com/portager/portager/pkg/apis/portager"
	imagesyncstorage "github.com/portager/portager/pkg/registry/imagesync"
	registrypolicystorage "github.com/portager/portager/pkg/registry/registrypolicy"
)

// ExtraConfig is what the server needs beyond the generic API server.
type ExtraConfig struct {
	// ImageSync configures the imagesyncs storage. Its Authorizer defaults to
	// the server's own (delegated) authorizer.
	ImageSync imagesyncstorage.Options
}

// Config is the configuration of the Portager API server.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	ExtraConfig   ExtraConfig
}

// CompletedConfig is a Config with defaults filled in; only Complete makes one.
type CompletedConfig struct {
	*completedConfig
}

type completedConfig struct {
	GenericConfig genericapiserver.CompletedConfig
	ExtraConfig   *ExtraConfig
	// kubeConfig reaches the kube-apiserver (nil in standalone mode).
	kubeConfig *restclient.Config
}

// Server is a running Portager API server.
type Server struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
}

// Complete fills in defaults. It mutates the receiver.
func (cfg *Config) Complete() CompletedConfig {
	return CompletedConfig{&completedConfig{
		GenericConfig: cfg.GenericConfig.Complete(),
		ExtraConfig:   &cfg.ExtraConfig,
		kubeConfig:    cfg.GenericConfig.ClientConfig,
	}}
}

// New builds the server and installs the portager.portager.io group.
func (c completedConfig) New() (*Server, error) {
	generic, err := c.GenericConfig.New("portager-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating generic API server: %w", err)
	}

	policies, err := registrypolicystorage.NewREST(Scheme, c.GenericConfig.RESTOptionsGetter)
	if err != nil {
		return nil, err
	}
	opts := c.ExtraConfig.ImageSync
	if opts.Authorizer == nil {
		opts.Authorizer = c.GenericConfig.Authorization.Authorizer
	}
	if opts.Policies == nil {
		src := policySource{policies: policies}
		if f := c.GenericConfig.SharedInformerFactory; f != nil && c.kubeConfig != nil {
			kube, err := kubernetes.NewForConfig(c.kubeConfig)
			if err != nil {
				return nil, fmt.Errorf("creating the client namespaces are read with: %w", err)
			}
			src.namespaces, src.kube = f.Core().V1().Namespaces().Lister(), kube
		}
		opts.Policies = src
	}
	storage, err := imagesyncstorage.NewStorage(Scheme, c.GenericConfig.RESTOptionsGetter, opts)
	if err != nil {
		return nil, err
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(portager.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	group.VersionedResourcesStorageMap["v1alpha1"] = map[string]rest.Storage{
		"imagesyncs":        storage.ImageSync,
		"imagesyncs/status": storage.Status,
		"imagesyncs/sync":   storage.Sync,
		"imagesyncs/writer": storage.Writer,
		"registrypolicies":  policies,
	}
	if err := generic.InstallAPIGroup(&group); err != nil {
		return nil, fmt.Errorf("installing %s: %w", portager.GroupName, err)
	}
	return &Server{GenericAPIServer: generic}, nil
}
