package distribution

import (
	"fmt"
	"strings"
	"testing"
)

func TestDecodeTags(t *testing.T) {
	for _, tc := range []struct {
		body    string
		max     int
		want    []string
		wantErr string
	}{
		{`{"name":"a","tags":["1","2"]}`, 10, []string{"1", "2"}, ""},
		{`{"tags":null,"name":"a"}`, 10, nil, ""},
		{`{"name":{"nested":[1,2]},"tags":[]}`, 10, nil, ""},
		{`{"tags":["1","2","3"]}`, 2, []string{"1", "2"}, "more than 2 tags"},
		{`{"tags":[1]}`, 10, nil, "not a string"},
		{`{"tags":"1"}`, 10, nil, "want an array, got a string"},
		{`["1"]`, 10, nil, "want an object, got an array"},
		{`{"tags":["1"`, 10, []string{"1"}, "EOF"},
	} {
		got, err := decodeTags(strings.NewReader(tc.body), nil, tc.max, "repo")
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("decodeTags(%s) = %v, %v; want %v, %q", tc.body, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzDecodeTags(f *testing.F) {
	f.Add([]byte(`{"name":"a","tags":["1","2"]}`))
	f.Add([]byte(`{"tags":null}`))
	f.Add([]byte(`{"tags":[1,{"a":[]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tags, _ := decodeTags(strings.NewReader(string(body)), nil, 5, "repo")
		if len(tags) > 5 {
			t.Fatalf("%d tags beyond the bound of 5", len(tags))
		}
	})
}
