package main

import (
	"slices"
	"testing"
)

// TestRoundOrder: every round measures every entry once, and over a full
// cycle of rounds every entry directly follows every other equally often.
func TestRoundOrder(t *testing.T) {
	for n := 1; n <= 7; n++ {
		cycle := n
		if n%2 == 1 {
			cycle = 2 * n
		}
		follows := map[[2]int]int{}
		for i := 0; i < cycle; i++ {
			row := roundOrder(n, i)
			sorted := slices.Sorted(slices.Values(row))
			for k := range sorted {
				if sorted[k] != k {
					t.Fatalf("n=%d round %d: %v is not an order of 0..%d", n, i, row, n-1)
				}
			}
			for k := 1; k < n; k++ {
				follows[[2]int{row[k-1], row[k]}]++
			}
		}
		want := cycle / n // 1 for even n, 2 for odd n (n > 1)
		for a := 0; a < n; a++ {
			for b := 0; b < n; b++ {
				if a != b && follows[[2]int{a, b}] != want {
					t.Errorf("n=%d: %d follows %d %d times in a cycle, want %d", n, b, a, follows[[2]int{a, b}], want)
				}
			}
		}
		if !slices.Equal(roundOrder(n, 0), roundOrder(n, cycle)) {
			t.Errorf("n=%d: round %d does not start the cycle again", n, cycle)
		}
	}
}
