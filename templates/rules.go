package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The behaviour of a task's component, stated once. The generated harnesses
// (files/main.go.tmpl of each template) express these rules in TinyGo for wasmCloud;
// `pelato dev` applies them by calling the functions below. Tests check both against
// one table (internal/devrun's TestTemplateRules, and TestGeneratedRules here), so the
// two cannot drift.
//
//   - A message with an empty body is refused (EmptyBodyError); nothing is published.
//   - A publishing template (Template.Publishes) publishes exec_task's result to the
//     subject in the runtime configuration key dest_topic; when the message carries a
//     reply subject the result is also published there, so a NATS request gets it.
//   - A panic in exec_task traps the invocation; it is not recovered. recover() does
//     nothing on WebAssembly in every released TinyGo (0.42.0's compiler/defer.go
//     disables it for wasm32), so a deferred recover() in task code has no effect
//     either. On wasmCloud the trap fails the message: nothing is published or
//     stored, TinyGo prints "panic: ..." to stderr, an HTTP request gets 500, and the
//     next message runs in a fresh instance. `pelato dev` (mainline Go) gives the same
//     outcome: recover() in task code returns nil there too, the message fails with
//     PanicMessage and the panic's file:line, and the instance is discarded. Should a
//     later TinyGo recover on WebAssembly, this rule follows the pinned version.
//   - An HTTP template (Template.HTTP) answers POST with the result and 200; any other
//     method with 405 and "Allow: POST"; an empty body with 400; a body larger than
//     MaxHTTPBody with 413; a failed exec_task with 500; a failed publish with 502.
//   - The key-value template decodes the body with DecodeKVMessage, uses the subject
//     when the key is empty, refuses an empty new key (ErrEmptyKey) and stores the
//     returned pair in the bucket named by the runtime configuration key bucket.
const (
	// MaxHTTPBody bounds an HTTP request body, in bytes.
	MaxHTTPBody = 16 << 20

	StatusOK               = 200 // the result, as text/plain
	StatusEmptyBody        = 400 // "empty request body"
	StatusMethodNotAllowed = 405 // with "Allow: POST"
	StatusTooLarge         = 413 // body larger than MaxHTTPBody
	StatusTaskFailed       = 500 // exec_task panicked: a trap (or dest_topic is not set)
	StatusPublishFailed    = 502 // the result could not be published
)

// EmptyBodyError is the error of a message with an empty body on subject.
func EmptyBodyError(subject string) error {
	return fmt.Errorf("empty message body on subject %s", strconv.Quote(subject))
}

// MethodNotAllowedMessage is the body of a 405 reply to method.
func MethodNotAllowedMessage(method string) string {
	return "method " + method + " not allowed: send the input with POST"
}

// PanicMessage is the error pelato dev reports for a call whose exec_task panicked
// with value (a trap on wasmCloud).
func PanicMessage(value string) string { return "exec_task panicked: " + value }

// ErrEmptyKey is the error of a key-value task whose exec_task returned an empty key.
var ErrEmptyKey = errors.New("exec_task returned an empty key")

// kvInput is the JSON body of a key-value task's message.
type kvInput struct {
	Key  string          `json:"key"`
	Data json.RawMessage `json:"data"`
}

// DecodeKVMessage extracts the key and the data from the JSON body of a key-value
// task's message. A data value that is a JSON string is passed on unquoted; any other
// JSON value is passed on as its JSON text; a missing or null data is "". An empty
// key is returned as it is: the caller uses the message's subject instead.
func DecodeKVMessage(body []byte) (key, data string, err error) {
	var in kvInput
	if err := json.Unmarshal(body, &in); err != nil {
		return "", "", fmt.Errorf(`body is not a JSON object {"key": ..., "data": ...}: %w`, err)
	}
	switch {
	case len(in.Data) == 0 || string(in.Data) == "null":
		data = ""
	case in.Data[0] == '"':
		if err := json.Unmarshal(in.Data, &data); err != nil {
			return "", "", fmt.Errorf("decoding data: %w", err)
		}
	default:
		data = string(in.Data)
	}
	return in.Key, data, nil
}

// Rule is one behaviour rule of the generated components, by an identifier the tests
// of each implementation (the generated source, `pelato dev`) must all cover.
type Rule struct {
	// ID names the rule.
	ID string
	// AppliesTo says which templates follow it: "all", "publishes" (Template.Publishes),
	// "http" (Template.HTTP) or "kv" (Kind KindKV).
	AppliesTo string
	// Text states the rule.
	Text string
}

// Applies reports whether template t follows the rule.
func (r Rule) Applies(t *Template) bool {
	switch r.AppliesTo {
	case "all":
		return true
	case "publishes":
		return t.Publishes
	case "http":
		return t.HTTP
	case "kv":
		return t.Kind == KindKV
	}
	return false
}

// BehaviourRules lists the rules stated at the top of this file.
func BehaviourRules() []Rule {
	return []Rule{
		{"empty-body", "all", "a message with an empty body is an error; nothing is published or stored"},
		{"panic-traps", "all", "a panic in exec_task traps the invocation (recover() has no effect): the message fails, nothing is published or stored; the next message gets a fresh instance"},
		{"publish-dest", "publishes", "the result is published to dest_topic, taken from runtime configuration"},
		{"reply-to", "publishes", "a message with a reply subject also gets the result as its reply"},
		{"http-ok", "http", "POST runs exec_task, publishes the result and answers 200 with it"},
		{"http-method", "http", "any other method answers 405 with Allow: POST"},
		{"http-empty", "http", "an empty POST body answers 400"},
		{"http-too-large", "http", "a body larger than MaxHTTPBody answers 413"},
		{"http-task-failed", "http", "a panicking exec_task (a trap) answers 500"},
		{"kv-decode", "kv", "the body is JSON {key, data}; a string data is unquoted, other JSON passed as text"},
		{"kv-subject-key", "kv", "an empty key stands for the message's subject"},
		{"kv-empty-new-key", "kv", "an empty key returned by exec_task is an error"},
		{"kv-store", "kv", "the returned pair is stored in the bucket named by `bucket` (on a lattice: the key-value link's target config)"},
	}
}
