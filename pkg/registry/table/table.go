package table

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Convert builds the table of object, one T or a list of T, with a row per
// object from row. The column definitions are left out when tableOptions
// asks for no headers.
func Convert[T runtime.Object](object, tableOptions runtime.Object, columns []metav1.TableColumnDefinition, row func(T) metav1.TableRow) (*metav1.Table, error) {
	table := &metav1.Table{}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok || !opts.NoHeaders {
		table.ColumnDefinitions = columns
	}
	if one, ok := object.(T); ok {
		m, err := meta.Accessor(one)
		if err != nil {
			return nil, err
		}
		table.Rows = []metav1.TableRow{row(one)}
		table.ResourceVersion = m.GetResourceVersion()
		return table, nil
	}
	if !meta.IsListType(object) {
		return nil, fmt.Errorf("cannot print %T as a table", object)
	}
	items, err := meta.ExtractList(object)
	if err != nil {
		return nil, err
	}
	table.Rows = make([]metav1.TableRow, 0, len(items))
	for _, item := range items {
		one, ok := item.(T)
		if !ok {
			return nil, fmt.Errorf("cannot print %T in a table of %T", item, *new(T))
		}
		table.Rows = append(table.Rows, row(one))
	}
	list, err := meta.ListAccessor(object)
	if err != nil {
		return nil, err
	}
	table.ResourceVersion = list.GetResourceVersion()
	table.Continue = list.GetContinue()
	table.RemainingItemCount = list.GetRemainingItemCount()
	return table, nil
}
