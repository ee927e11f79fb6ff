package apiserver

import (
	"fmt"

	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/portager/portager/pkg/apis/portager"
	imagesyncstorage "github.com/portager/portager/pkg/registry/imagesync"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	}}
}

// New builds the server and installs the portager.portager.io group.
func (c completedConfig) New() (*Server, error) {
	generic, err := c.GenericConfig.New("portager-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("creating generic API server: %w", err)
	}

	opts := c.ExtraConfig.ImageSync
	if opts.Authorizer == nil {
		opts.Authorizer = c.GenericConfig.Authorization.Authorizer
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
	}
	if err := generic.InstallAPIGroup(&group); err != nil {
		return nil, fmt.Errorf("installing %s: %w", portager.GroupName, err)
	}
	return &Server{GenericAPIServer: generic}, nil
}
