// Package gcpace paces the garbage collector for Portager's short-lived
// command-line binaries, `portager` and `kubectl-imagesync`. Their main
// packages import it for its side effect.
//
// A run of one of them lasts from milliseconds to minutes, and its heap is
// small and gone at exit. At the default pace (GOGC=100) the collector spends
// CPU for memory nobody needs back, CPU that an up-to-date `portager once`
// shares with registries on the same machine. gcpace sets the pace to
// Percent. A GOGC in the environment still wins.
//
// It sets the pace while packages initialise, not in main. The binaries'
// dependencies (sigstore-go, the AWS SDK, protobuf) allocate about 3.5 MB as
// they initialise, and at the default pace the first collection starts at
// 4 MB, in the middle of that: a `portager --help` took 2–4 ms longer. Go
// initialises a package as soon as the packages it imports are (the first
// by import path among those ready), and gcpace imports only os and
// runtime/debug, so it runs early: in portager, once about 1.4 MB of that is
// allocated. Each binary's tests check that no collection has run by the
// time its main package initialises.
package gcpace
