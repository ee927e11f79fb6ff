// Package memtest measures how far the heap grows while a test runs some
// code, so a test can bound the memory a hostile input costs. Tests that
// use it must not run in parallel with others: the heap is the process's.
package memtest
