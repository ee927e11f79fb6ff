package fuzzer

import (
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	"github.com/portager/portager/pkg/apis/portager"
)

// Funcs returns the fuzzer functions of the portager API group.
var Funcs = func(codecs runtimeserializer.CodecFactory) []any {
	return []any{
		func(g *portager.VulnerabilityGate, c randfill.Continue) {
			c.FillNoCustom(g)
			// Decoding defaults a missing requireCveReport to true.
			if g.RequireCveReport == nil {
				v := c.Bool()
				g.RequireCveReport = &v
			}
		},
		func(d *portager.DestinationRegistry, c randfill.Continue) {
			c.FillNoCustom(d)
			// Decoding defaults a missing overwrite policy to Always.
			if d.Overwrite == "" {
				d.Overwrite = []portager.OverwritePolicy{portager.OverwriteAlways, portager.OverwriteNever}[c.Intn(2)]
			}
		},
	}
}
