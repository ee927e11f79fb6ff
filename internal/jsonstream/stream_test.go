package jsonstream

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestStream reads documents for the values of "want" (a string) and "n"
// (any scalar), skipping everything else, and checks what was kept and
// that the document was consumed to its end.
func TestStream(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		want    string
		n       any
		wantErr string
	}{
		{doc: `{"want":"x","n":2}`, want: "x", n: 2.0},
		{doc: `{"skip":{"a":[1,{"b":[[],{}]}],"c":null},"want":"y"}`, want: "y"},
		{doc: `{"want":{"not":"a string"},"n":[1,2]}`},
		{doc: `{"n":true,"want":"z","list":["a",{"b":"c"}]}`, want: "z", n: true},
		{doc: `null`},
		{doc: `[]`, wantErr: "want an object, got an array"},
		{doc: `"s"`, wantErr: "want an object, got a string"},
		{doc: `{"want":"x"`, wantErr: "EOF"},
		{doc: `{"skip":[1,2}`, wantErr: "invalid character"},
	} {
		dec := json.NewDecoder(strings.NewReader(tc.doc))
		var want string
		var n any
		err := Object(dec, func(key string) error {
			var err error
			switch key {
			case "want":
				want, _, err = String(dec)
			case "n":
				n, err = Scalar(dec)
			default:
				err = Skip(dec)
			}
			return err
		})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", tc.doc, err, tc.wantErr)
			}
			continue
		}
		if err != nil || want != tc.want || n != tc.n {
			t.Errorf("%s: want=%q n=%v err=%v; want want=%q n=%v", tc.doc, want, n, err, tc.want, tc.n)
		}
		if dec.More() {
			t.Errorf("%s: not read to its end", tc.doc)
		}
	}
}

// TestArray reads arrays of strings; null is an empty array.
func TestArray(t *testing.T) {
	for doc, want := range map[string]string{`["a","b"]`: "a,b", `null`: "", `[]`: "", `["a",1,{"x":"y"},"c"]`: "a,c"} {
		dec := json.NewDecoder(strings.NewReader(doc))
		var got []string
		err := Array(dec, func() error {
			s, ok, err := String(dec)
			if ok {
				got = append(got, s)
			}
			return err
		})
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("%s: %v, %v; want %s", doc, got, err, want)
		}
	}
}
