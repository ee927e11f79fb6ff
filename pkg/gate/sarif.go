package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/portager/portager/internal/jsonstream"
	"github.com/portager/portager/pkg/apis/portager/v1alpha1"
)

// maxSARIFRules bounds the rules a report's runs declare together. A
// scanner declares one rule per vulnerability it found (Trivy and Grype
// do), so real reports stay far below it; a larger one proves nothing
// and fails the gate closed.
const maxSARIFRules = 100_000

var errTooManyRules = fmt.Errorf("it declares more than %d rules", maxSARIFRules)

// sarifRule is what a result can take from its rule.
type sarifRule struct {
	id string
	// severity is from the rule's security-severity (a CVSS score), or
	// else the best severity word among its tags ("" if neither).
	severity v1alpha1.Severity
	// level is the rule's defaultConfiguration.level.
	level string
}

// sarifRun is one run's rules, in order and by id (the last of an id).
type sarifRun struct {
	rules []sarifRule
	byID  map[string]int
}

// parseSARIF reads a SARIF 2.1.0 log and calls add for each result with its
// rule id and severity. A result's severity is the first of: its own or
// its rule's security-severity (a CVSS score, as GitHub reads it), a
// severity word in the rule's tags (Trivy), and the SARIF level (error
// high, warning medium, note low).
//
// The log is read as a stream of tokens, twice: once for each run's rules,
// then for the results. Only the rules and the fields severities need are
// kept, never a result, so the memory a report costs beyond its bytes is
// bounded by maxSARIFRules, however many results or other fields it holds.
func parseSARIF(data []byte, add func(id string, severity v1alpha1.Severity)) error {
	var version string
	var runs []sarifRun
	sawRuns := false
	dec := newDecoder(data)
	err := jsonstream.Object(dec, func(key string) error {
		switch key {
		case "version":
			version, _, _ = jsonstream.String(dec)
			return nil
		case "runs":
			sawRuns = true
			total := 0
			return jsonstream.Array(dec, func() error {
				run, err := readRun(dec, &total)
				runs = append(runs, run)
				return err
			})
		}
		return jsonstream.Skip(dec)
	})
	switch {
	case errors.Is(err, errTooManyRules):
		return err
	case err != nil:
		return errors.New("not a JSON document")
	case !strings.HasPrefix(version, "2.") || !sawRuns:
		return errors.New("not a SARIF 2 log")
	}
	dec = newDecoder(data)
	return jsonstream.Object(dec, func(key string) error {
		if key != "runs" {
			return jsonstream.Skip(dec)
		}
		i := 0
		return jsonstream.Array(dec, func() error {
			if i >= len(runs) {
				return jsonstream.Skip(dec)
			}
			run := runs[i]
			i++
			return jsonstream.Object(dec, func(key string) error {
				if key != "results" {
					return jsonstream.Skip(dec)
				}
				return jsonstream.Array(dec, func() error {
					id, sev, err := readResult(dec, run)
					if err == nil {
						add(id, sev)
					}
					return err
				})
			})
		})
	})
}

func newDecoder(data []byte) *json.Decoder {
	return json.NewDecoder(bytes.NewReader(data))
}

// readRun reads a run's tool.driver.rules, adding their number to total.
func readRun(dec *json.Decoder, total *int) (sarifRun, error) {
	run := sarifRun{byID: map[string]int{}}
	err := jsonstream.Object(dec, func(key string) error {
		if key != "tool" {
			return jsonstream.Skip(dec)
		}
		return jsonstream.Object(dec, func(key string) error {
			if key != "driver" {
				return jsonstream.Skip(dec)
			}
			return jsonstream.Object(dec, func(key string) error {
				if key != "rules" {
					return jsonstream.Skip(dec)
				}
				return jsonstream.Array(dec, func() error {
					if *total++; *total > maxSARIFRules {
						return errTooManyRules
					}
					r, err := readRule(dec)
					run.byID[r.id] = len(run.rules)
					run.rules = append(run.rules, r)
					return err
				})
			})
		})
	})
	return run, err
}

func readRule(dec *json.Decoder) (sarifRule, error) {
	var r sarifRule
	var tagged v1alpha1.Severity
	err := jsonstream.Object(dec, func(key string) error {
		switch key {
		case "id":
			r.id, _, _ = jsonstream.String(dec)
			return nil
		case "properties":
			return jsonstream.Object(dec, func(key string) error {
				switch key {
				case "security-severity":
					v, err := jsonstream.Scalar(dec)
					r.severity = cvssSeverity(v)
					return err
				case "tags":
					return jsonstream.Array(dec, func() error {
						s, _, err := jsonstream.String(dec)
						if sev := v1alpha1.Severity(strings.ToLower(s)); severityRank[sev] > severityRank[tagged] {
							tagged = sev
						}
						return err
					})
				}
				return jsonstream.Skip(dec)
			})
		case "defaultConfiguration":
			return jsonstream.Object(dec, func(key string) error {
				if key != "level" {
					return jsonstream.Skip(dec)
				}
				var err error
				r.level, _, err = jsonstream.String(dec)
				return err
			})
		}
		return jsonstream.Skip(dec)
	})
	if r.severity == "" {
		r.severity = tagged
	}
	return r, err
}

// readResult reads one result of run and returns its rule id and
// severity.
func readResult(dec *json.Decoder, run sarifRun) (string, v1alpha1.Severity, error) {
	var id, level string
	var own v1alpha1.Severity
	index := -1
	err := jsonstream.Object(dec, func(key string) error {
		var err error
		switch key {
		case "ruleId":
			id, _, err = jsonstream.String(dec)
		case "ruleIndex":
			var v any
			v, err = jsonstream.Scalar(dec)
			if f, ok := v.(float64); ok && f >= 0 && f < float64(len(run.rules)) && f == float64(int(f)) {
				index = int(f)
			}
		case "level":
			level, _, err = jsonstream.String(dec)
		case "properties":
			err = jsonstream.Object(dec, func(key string) error {
				if key != "security-severity" {
					return jsonstream.Skip(dec)
				}
				v, err := jsonstream.Scalar(dec)
				own = cvssSeverity(v)
				return err
			})
		default:
			err = jsonstream.Skip(dec)
		}
		return err
	})
	if err != nil {
		return "", "", err
	}
	var rule sarifRule
	if i, ok := run.byID[id]; ok && id != "" {
		rule = run.rules[i]
	} else if index >= 0 {
		rule = run.rules[index]
	}
	if id == "" {
		id = rule.id
	}
	sev := own
	if sev == "" {
		sev = rule.severity
	}
	if sev == "" {
		if level == "" {
			level = rule.level
		}
		sev = levelSeverity(level)
	}
	return id, sev, nil
}
