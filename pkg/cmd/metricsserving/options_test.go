package metricsserving

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestFlags: the secure-serving flags and the deprecated address set where
// the endpoint listens; addresses that cannot be listened on are refused
// with the flag's name.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantAddr string
		wantPort int
		wantErr  string
	}{
		{args: nil, wantAddr: "0.0.0.0", wantPort: 8443},
		{args: []string{"--bind-address=127.0.0.1", "--secure-port=9443"}, wantAddr: "127.0.0.1", wantPort: 9443},
		{args: []string{"--metrics-bind-address=127.0.0.1:8080"}, wantAddr: "127.0.0.1", wantPort: 8080},
		{args: []string{"--metrics-bind-address=:8080"}, wantAddr: "0.0.0.0", wantPort: 8080},
		{args: []string{"--metrics-bind-address=8080"}, wantErr: "--metrics-bind-address"},
		{args: []string{"--metrics-bind-address=metrics.local:8080"}, wantErr: "is not an IP address"},
		{args: []string{"--secure-port=0"}, wantErr: "--secure-port must not be 0"},
	} {
		o := NewOptions("test")
		fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		err := o.Complete()
		if err == nil {
			if errs := o.Validate(); len(errs) > 0 {
				err = errs[0]
			}
		}
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err = %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || o.SecureServing.BindAddress.String() != tc.wantAddr || o.SecureServing.BindPort != tc.wantPort {
			t.Errorf("%v: %s:%d, %v; want %s:%d", tc.args, o.SecureServing.BindAddress, o.SecureServing.BindPort, err, tc.wantAddr, tc.wantPort)
		}
	}
}
