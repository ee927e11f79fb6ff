// Package nettest gives tests a network they fully control: a resolver
// that knows only the names a test gives it, a dialer that connects to
// loopback only and records every attempt, and a canary listener that
// counts the connections it accepts. With them a test proves that a
// connection was refused by counting what did not happen, and a broken
// dial policy still sends no packet off the machine.
package nettest
