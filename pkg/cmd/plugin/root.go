package plugin

import (
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	clientset "github.com/portager/portager/pkg/generated/clientset/versioned"
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
		Use:   "kubectl-imagesync",
		Short: "Trigger and inspect Portager ImageSyncs",
		Long: `kubectl imagesync triggers on-demand syncs of Portager ImageSyncs and shows
their per-tag results.

  kubectl imagesync sync base-images --wait
  kubectl imagesync status base-images -n mirror

once runs one sync of a manifest from this machine, without a cluster:

  kubectl imagesync once -f base-images.yaml --docker-config ~/.docker/config.json`,
		SilenceUsage: true,
	}
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	flags := cmd.PersistentFlags()
	flags.StringVar(&o.loading.ExplicitPath, "kubeconfig", "", "Path to the kubeconfig file to use.")
	clientcmd.BindOverrideFlags(o.overrides, flags, clientcmd.RecommendedConfigOverrideFlags(""))
	cmd.AddCommand(newSyncCommand(o), newStatusCommand(o), newOnceCommand())
	return cmd
}

// Run executes cmd as the kubectl-imagesync binary does and returns its exit
// status: 1 when the command failed, after printing the error the way
// kubectl prints one.
//
// klog's -v and --vmodule are wired here rather than through
// k8s.io/component-base/cli: that package links the metrics registry and
// feature gates, whose package initialisation alone costs several
// milliseconds on every invocation, and `once` runs in CI loops where a
// whole run of an up-to-date manifest takes a few hundred.
func Run(cmd *cobra.Command, errOut io.Writer) int {
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for _, name := range []string{"v", "vmodule"} {
		cmd.PersistentFlags().AddGoFlag(klogFlags.Lookup(name))
	}
	cmd.SilenceErrors = true
	err := cmd.Execute()
	klog.Flush()
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return 1
	}
	return 0
}
