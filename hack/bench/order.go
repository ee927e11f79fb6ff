package main

// roundOrder is the order in which round i measures n entries: the rows
// of a Williams design, a Latin square in which, within rounds, every
// entry directly follows every other entry equally often over a full cycle
// of rows (n rows for even n, 2n for odd n). Across the boundary between
// two rounds one more pair per round follows. A measurement is affected
// by what ran just before it (the registries may still be collecting its
// garbage), so a plain rotation, where an entry nearly always follows the
// same neighbour, would give each entry its own fixed handicap.
func roundOrder(n, i int) []int {
	if n == 0 {
		return nil
	}
	// The first row: 0, 1, n-1, 2, n-2, ...; row r adds r to each.
	first := make([]int, n)
	lo, hi := 1, n-1
	for k := 1; k < n; k++ {
		if k%2 == 1 {
			first[k], lo = lo, lo+1
		} else {
			first[k], hi = hi, hi-1
		}
	}
	rows := n
	if n%2 == 1 {
		rows = 2 * n // odd n: the rows and their mirror images
	}
	r := i % rows
	row := make([]int, n)
	for k := range row {
		row[k] = (first[k] + r) % n
	}
	if r >= n {
		for a, b := 0, n-1; a < b; a, b = a+1, b-1 {
			row[a], row[b] = row[b], row[a]
		}
	}
	return row
}
