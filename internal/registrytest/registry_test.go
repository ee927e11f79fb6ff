package registrytest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestRegistry checks what tests rely on: requests are recorded with their
// kind and status, a fault answers instead of the registry for as many
// times as it says, and tag lists come in Link-paginated pages.
func TestRegistry(t *testing.T) {
	reg := New(t, WithPageSize(2))
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"a", "b", "c"} {
		reg.Push("app:"+tag, img)
	}
	if reg.DigestOf("app:a") == "" || reg.DigestOf("app:zzz") != "" {
		t.Fatalf("DigestOf: app:a %q, app:zzz %q", reg.DigestOf("app:a"), reg.DigestOf("app:zzz"))
	}
	reg.Reset()
	reg.AddFault(&Fault{
		Match:  func(r *http.Request) bool { return KindOf(r) == "manifest" },
		Times:  1,
		Handle: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
	})
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(reg.Server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if got := get("/v2/app/manifests/a").StatusCode; got != http.StatusServiceUnavailable {
		t.Errorf("first manifest GET: %d, want the fault's 503", got)
	}
	if got := get("/v2/app/manifests/a").StatusCode; got != http.StatusOK {
		t.Errorf("second manifest GET: %d, want 200 once the fault is spent", got)
	}
	page := get("/v2/app/tags/list")
	var list struct{ Tags []string }
	if err := json.NewDecoder(page.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Tags) != 2 || page.Header.Get("Link") == "" {
		t.Errorf("first page: tags %v, Link %q; want 2 tags and a next link", list.Tags, page.Header.Get("Link"))
	}
	want := []Record{
		{Method: http.MethodGet, Kind: "manifest+fault", Status: http.StatusServiceUnavailable},
		{Method: http.MethodGet, Kind: "manifest", Status: http.StatusOK},
		{Method: http.MethodGet, Kind: "tags", Status: http.StatusOK},
	}
	got := reg.Requests()
	if len(got) != len(want) {
		t.Fatalf("recorded %d requests, want %d:\n%s", len(got), len(want), reg.Dump())
	}
	for i, w := range want {
		if got[i].Method != w.Method || got[i].Kind != w.Kind || got[i].Status != w.Status {
			t.Errorf("request %d: %s %s -> %d, want %s %s -> %d", i, got[i].Method, got[i].Kind, got[i].Status, w.Method, w.Kind, w.Status)
		}
	}
	if n := reg.Count(http.MethodGet, "manifest"); n != 1 {
		t.Errorf("Count(GET, manifest) = %d, want 1", n)
	}
}
