package table

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/portager/portager/pkg/apis/portager"
)

func TestConvert(t *testing.T) {
	columns := []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name"}}
	row := func(p *portager.RegistryPolicy) metav1.TableRow {
		return metav1.TableRow{Cells: []any{p.Name}, Object: runtime.RawExtension{Object: p}}
	}
	one := &portager.RegistryPolicy{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "7"}}
	list := &portager.RegistryPolicyList{
		ListMeta: metav1.ListMeta{ResourceVersion: "9", Continue: "next", RemainingItemCount: ptr.To[int64](3)},
		Items:    []portager.RegistryPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "b"}}},
	}
	for _, tc := range []struct {
		name      string
		object    runtime.Object
		options   runtime.Object
		wantNames []string
		wantRV    string
		headers   bool
		continued string
		remaining *int64
		wantErr   bool
	}{
		{name: "one object", object: one, wantNames: []string{"a"}, wantRV: "7", headers: true},
		{name: "a list, paged", object: list, wantNames: []string{"a", "b"}, wantRV: "9", headers: true, continued: "next", remaining: ptr.To[int64](3)},
		{name: "no headers asked", object: one, options: &metav1.TableOptions{NoHeaders: true}, wantNames: []string{"a"}, wantRV: "7"},
		{name: "another kind", object: &portager.ImageSync{}, wantErr: true},
		{name: "a list of another kind", object: &portager.ImageSyncList{Items: []portager.ImageSync{{}}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Convert(tc.object, tc.options, columns, row)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got a table of %d rows, want an error", len(got.Rows))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range got.Rows {
				names = append(names, r.Cells[0].(string))
			}
			if len(names) != len(tc.wantNames) || (len(names) > 0 && names[len(names)-1] != tc.wantNames[len(tc.wantNames)-1]) {
				t.Errorf("rows %v, want %v", names, tc.wantNames)
			}
			if got.ResourceVersion != tc.wantRV || got.Continue != tc.continued || (got.ColumnDefinitions != nil) != tc.headers {
				t.Errorf("resourceVersion %q continue %q headers %v; want %q %q %v", got.ResourceVersion, got.Continue, got.ColumnDefinitions != nil, tc.wantRV, tc.continued, tc.headers)
			}
			if (got.RemainingItemCount == nil) != (tc.remaining == nil) || (tc.remaining != nil && *got.RemainingItemCount != *tc.remaining) {
				t.Errorf("remainingItemCount %v, want %v", got.RemainingItemCount, tc.remaining)
			}
		})
	}
}
