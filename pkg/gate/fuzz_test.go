package gate

import (
	"encoding/base64"
	"testing"

	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// FuzzParseSARIF: no report panics the parser or makes it keep more than
// maxListedFindings findings, and a report it accepts parses the same twice.
func FuzzParseSARIF(f *testing.F) {
	for _, seed := range []string{
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"rules":[{"id":"CVE-1","properties":{"security-severity":"9.8","tags":["HIGH"]},"defaultConfiguration":{"level":"note"}}]}},"results":[{"ruleId":"CVE-1","ruleIndex":0,"level":"error","properties":{"security-severity":1}}]}]}`,
		`{"version":"2.1.0","runs":null}`,
		`{"runs":[{"results":[{}]}],"version":"2.0"}`,
		`[]`, `null`, `{"version":"2.1.0","runs":[{"results":[{"ruleIndex":-1e400}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		t1 := &tally{limit: severityRank[v1alpha1.SeverityLow]}
		n := 0
		err := parseSARIF(data, func(id string, sev v1alpha1.Severity) { n++; t1.add(id, sev) })
		if len(t1.listed) > maxListedFindings || t1.blocking > n {
			t.Fatalf("tally kept %d findings, counted %d blocking of %d", len(t1.listed), t1.blocking, n)
		}
		if err != nil {
			return
		}
		t2 := &tally{limit: severityRank[v1alpha1.SeverityLow]}
		if err := parseSARIF(data, t2.add); err != nil || t2.blocking != t1.blocking {
			t.Fatalf("second parse: %v, %d blocking, want %d", err, t2.blocking, t1.blocking)
		}
	})
}

// FuzzBundlePredicateType: no bundle panics the reader, and a bundle
// parseBundle reads with an in-toto statement has the predicate type
// parseBundle finds.
func FuzzBundlePredicateType(f *testing.F) {
	stmt := base64.StdEncoding.EncodeToString([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"ab"}}],"predicateType":"https://spdx.dev/Document","predicate":{}}`))
	for _, seed := range []string{
		`{"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"` + stmt + `","signatures":[]}}`,
		`{"messageSignature":{"messageDigest":{},"signature":"c2ln"}}`,
		`{"dsseEnvelope":{"payloadType":"text/plain","payload":"` + stmt + `"}}`,
		`{"dsseEnvelope":{"payloadType":"application/vnd.in-toto+json","payload":"!!"}}`,
		`{}`, `[`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := bundlePredicateType(data)
		if b, err := parseBundle(data); err == nil && b.env != nil && got != b.predicateType {
			t.Fatalf("bundlePredicateType = %q, parseBundle found %q", got, b.predicateType)
		}
	})
}
