package gate

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
	"github.com/portager/portager/pkg/syncer"
)

// Policy is what an image must show before it is copied. The zero value
// checks nothing.
type Policy struct {
	// Cosign, if set, requires a cosign signature of the image.
	Cosign *CosignPolicy
	// RequireSBOM requires an SPDX or CycloneDX SBOM attached to the image.
	RequireSBOM bool
	// Vulnerability, if set, limits the findings of an attached SARIF
	// report.
	Vulnerability *VulnerabilityPolicy
}

// CosignPolicy says which signatures count.
type CosignPolicy struct {
	// PublicKey verifies key-based signatures (PEM, PKIX).
	PublicKey string
	// KeylessIssuer, KeylessIdentity and KeylessIdentityRegexp describe
	// keyless (Fulcio certificate) signers.
	KeylessIssuer, KeylessIdentity, KeylessIdentityRegexp string
	// TrustedRoot holds the Fulcio CAs and transparency log keys keyless
	// signatures are verified with (LoadTrustedRoot). Nil refuses every
	// keyless signature.
	TrustedRoot root.TrustedMaterial
}

// VulnerabilityPolicy blocks images with a finding at or above MaxSeverity.
type VulnerabilityPolicy struct {
	MaxSeverity v1alpha1.Severity
	// RequireReport blocks images that have no SARIF report attached.
	RequireReport bool
}

// Enabled reports whether p checks anything.
func (p *Policy) Enabled() bool {
	return p != nil && (p.Cosign != nil || p.RequireSBOM || p.Vulnerability != nil)
}

// checker is one gate.
type checker interface {
	name() string
	check(ctx context.Context, a *attachments) error
}

// New compiles p into a gate. It fails for a policy that cannot be checked
// (an unreadable key), which API validation normally rules out.
func New(p Policy) (Func, error) {
	var checks []checker
	if c := p.Cosign; c != nil {
		cc, err := newCosignCheck(*c)
		if err != nil {
			return nil, err
		}
		checks = append(checks, cc)
	}
	if p.RequireSBOM {
		checks = append(checks, sbomCheck{})
	}
	if v := p.Vulnerability; v != nil {
		if _, ok := severityRank[v.MaxSeverity]; !ok {
			return nil, fmt.Errorf("unknown severity %q", v.MaxSeverity)
		}
		checks = append(checks, vulnerabilityCheck{policy: *v})
	}
	return func(ctx context.Context, s Source) error {
		a := newAttachments(s)
		// Every gate runs, so that status names each reason an image is
		// blocked rather than only the first.
		var verdicts []string
		for _, c := range checks {
			err := c.check(ctx, a)
			var r *rejection
			switch {
			case err == nil:
			case errors.As(err, &r):
				verdicts = append(verdicts, c.name()+": "+r.msg)
			default:
				// The source could not be read: not a verdict.
				return fmt.Errorf("%s gate: %w", c.name(), err)
			}
		}
		if len(verdicts) > 0 {
			return syncer.Rejected(errors.New(strings.Join(verdicts, "; ")))
		}
		return nil
	}, nil
}

// rejection is a gate's verdict that the image must not be copied.
type rejection struct{ msg string }

func (r *rejection) Error() string { return r.msg }

func reject(format string, args ...any) error { return &rejection{msg: fmt.Sprintf(format, args...)} }

// parsePublicKey reads a PEM-encoded PKIX public key.
func parsePublicKey(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("publicKey is not a PEM-encoded public key")
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}
