// Package jsonstream reads a JSON document as a stream of tokens, keeping
// only the values its caller asks for. Decoders of documents a registry
// serves (tag lists, vulnerability reports) use it so that what they keep
// in memory depends on what they need, not on the size or shape of the
// document: an unknown field, however large or deep, is skipped token by
// token and never held.
package jsonstream
