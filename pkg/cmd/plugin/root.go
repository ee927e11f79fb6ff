package plugin

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/portager/portager/pkg/cmd/once"
	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
	"github.com/portager/portager/pkg/version"
)

// options are the connection flags every subcommand shares, as kubectl has them.
type options struct {
	loading   *clientcmd.ClientConfigLoadingRules
	overrides *clientcmd.ConfigOverrides
	out       io.Writer
}

// client returns the clientset and namespace the flags and kubeconfig select.
func (o *options) client() (clientset.Interface, string, error) {
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(o.loading, o.overrides)
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("reading namespace from kubeconfig: %w", err)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading kubeconfig: %w", err)
	}
	cs, err := clientset.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("creating client: %w", err)
	}
	return cs, ns, nil
}

// NewCommand returns the kubectl-imagesync command.
func NewCommand(out, errOut io.Writer) *cobra.Command {
	o := &options{
		loading:   clientcmd.NewDefaultClientConfigLoadingRules(),
		overrides: &clientcmd.ConfigOverrides{},
		out:       out,
	}
	cmd := &cobra.Command{
		Use:     "kubectl-imagesync",
		Version: version.Get().String(),
		Short:   "Trigger and inspect Portager ImageSyncs",
		Long: `kubectl imagesync triggers on-demand syncs of Portager ImageSyncs and shows
their per-tag results.

  kubectl imagesync sync base-images --wait
  kubectl imagesync status base-images -n mirror

once runs one sync of a manifest from this machine, without a cluster (the
standalone portager CLI has the same command and starts faster):

  kubectl imagesync once -f base-images.yaml --docker-config ~/.docker/config.json`,
		SilenceUsage: true,
	}
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	flags := cmd.PersistentFlags()
	flags.StringVar(&o.loading.ExplicitPath, "kubeconfig", "", "Path to the kubeconfig file to use.")
	clientcmd.BindOverrideFlags(o.overrides, flags, clientcmd.RecommendedConfigOverrideFlags(""))
	cmd.AddCommand(newSyncCommand(o), newStatusCommand(o), once.NewCommand("kubectl imagesync"))
	return cmd
}
