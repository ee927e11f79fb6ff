package jsonstream

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Object reads an object, calling fn with each key. fn must consume the
// key's value, with this package's functions or dec.Decode. A null reads as
// an empty object; any other value is an error.
func Object(dec *json.Decoder, fn func(key string) error) error {
	open, err := opening(dec, '{')
	if err != nil || !open {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return errors.New("an object key is not a string")
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	return closing(dec, '}')
}

// Array reads an array, calling fn for each element. fn must consume the
// element. A null reads as an empty array; any other value is an error.
func Array(dec *json.Decoder, fn func() error) error {
	open, err := opening(dec, '[')
	if err != nil || !open {
		return err
	}
	for dec.More() {
		if err := fn(); err != nil {
			return err
		}
	}
	return closing(dec, ']')
}

// Skip consumes one value of any kind without keeping it.
func Skip(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	return skipRest(dec, tok)
}

// String reads a value and returns it if it is a string; ok is false (and
// the value consumed) for any other kind.
func String(dec *json.Decoder) (s string, ok bool, err error) {
	v, err := Scalar(dec)
	s, ok = v.(string)
	return s, ok, err
}

// Scalar reads a value and returns it if it is a string, a number (as
// float64), a bool or null; an object or array is consumed and returned
// as nil.
func Scalar(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if _, ok := tok.(json.Delim); ok {
		return nil, skipRest(dec, tok)
	}
	return tok, nil
}

// skipRest consumes the rest of the value that tok began.
func skipRest(dec *json.Decoder, tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || (d != '{' && d != '[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// opening reads the token that opens a value of the kind want names:
// open is false for a null.
func opening(dec *json.Decoder, want json.Delim) (open bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	if tok == nil {
		return false, nil
	}
	if d, ok := tok.(json.Delim); ok && d == want {
		return true, nil
	}
	if err := skipRest(dec, tok); err != nil {
		return false, err
	}
	return false, fmt.Errorf("want %s, got %v", kind(want), describe(tok))
}

func closing(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}

func kind(d json.Delim) string {
	if d == '{' {
		return "an object"
	}
	return "an array"
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return kind(t)
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", tok)
}
