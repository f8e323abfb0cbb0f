// Package schema derives the JSON Schema of workflow.yaml from the same sources the
// checker reads: the key table of internal/workflow and the template registry. Users
// of other YAML tooling get completion and validation from it.
package schema

import (
	"bytes"
	"encoding/json"

	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// ID is the schema's published identifier, used in workflow.yaml modelines.
const ID = "https://raw.githubusercontent.com/pelato-dev/pelato/main/schemas/workflow.schema.json"

// Modeline is the first line `pelato init` writes into workflow.yaml.
const Modeline = "# yaml-language-server: $schema=" + ID

type object = map[string]any

// Generate returns the JSON Schema (draft-07) of workflow.yaml, indented and stable.
func Generate(reg *templates.Registry) ([]byte, error) {
	if reg == nil {
		reg = templates.Default()
	}
	project, task := object{}, object{}
	var projectReq, taskReq []string
	for _, k := range workflow.Keys() {
		prop := property(k)
		switch k.Scope {
		case workflow.Project:
			project[k.Key] = prop
			if k.Required {
				projectReq = append(projectReq, k.Key)
			}
		default:
			task[k.Key] = prop
			if k.Scope == workflow.Common && k.Required && k.Key != "targets" {
				taskReq = append(taskReq, k.Key)
			}
		}
	}
	task["type"].(object)["enum"] = reg.Names()
	var conditions []any
	for _, t := range reg.All() {
		then := object{}
		if len(t.Keys.Required) > 0 {
			then["required"] = t.Keys.Required
		}
		// Keys a template does not use are hints for the checker, so the schema accepts them.
		conditions = append(conditions, object{
			"if":   object{"properties": object{"type": object{"const": t.Name}}, "required": []string{"type"}},
			"then": then,
		})
	}
	// `targets` or its deprecated spelling `target` must be present.
	conditions = append(conditions, object{"anyOf": []any{object{"required": []string{"targets"}}, object{"required": []string{"target"}}}})
	project["tasks"].(object)["items"] = object{"$ref": "#/definitions/task"}
	doc := object{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"$id":                  ID,
		"title":                "pelato workflow",
		"description":          "A pelato workflow: tasks written as Go functions, each built into a WebAssembly component and deployed to wasmCloud.",
		"type":                 "object",
		"properties":           project,
		"required":             projectReq,
		"additionalProperties": false,
		"definitions": object{
			"task": object{
				"type":                 "object",
				"description":          "One task: a Go function wrapped by a template into a WebAssembly component.",
				"properties":           task,
				"required":             taskReq,
				"additionalProperties": false,
				"allOf":                conditions,
			},
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func property(k workflow.KeySpec) object {
	p := object{"description": k.Description}
	if k.Replacement != "" {
		p["deprecated"] = true
		p["description"] = k.Description
	}
	switch k.Type {
	case workflow.String:
		p["type"] = "string"
		p["minLength"] = 1
		if k.Pattern != "" {
			p["pattern"] = k.Pattern
		}
		if len(k.Enum) > 0 {
			p["enum"] = k.Enum
		}
		if k.Key == "http_host" {
			p["maxLength"] = workflow.MaxHostnameLength
		}
		switch k.Key {
		case "version":
			p["not"] = object{"const": "latest"}
			p["maxLength"] = workflow.MaxVersionLength
		case "source_topic":
			p["pattern"] = `^((\*|[^\s.*>,|]+)(\.(\*|[^\s.*>,|]+))*(\.>)?|>)$`
		case "dest_topic":
			p["pattern"] = `^[^\s.*>,|]+(\.[^\s.*>,|]+)*$`
		}
	case workflow.StringList:
		p["type"] = "array"
		p["minItems"] = 1
		p["uniqueItems"] = true
		item := object{"type": "string"}
		if k.Pattern != "" {
			item["pattern"] = k.Pattern
		}
		p["items"] = item
	case workflow.Int:
		p["type"] = "integer"
		if k.Minimum != 0 || k.Maximum != 0 {
			p["minimum"], p["maximum"] = k.Minimum, k.Maximum
		}
	case workflow.StringMap:
		p["type"] = "object"
		p["additionalProperties"] = object{"type": []string{"string", "number", "boolean"}}
	case workflow.TaskList:
		p["type"] = "array"
		p["minItems"] = 1
	}
	if k.Default != "" {
		p["default"] = defaultValue(k)
	}
	if k.Example != "" && k.Type == workflow.String {
		p["examples"] = []string{k.Example}
	}
	return p
}

func defaultValue(k workflow.KeySpec) any {
	if k.Type == workflow.Int {
		var n int
		_ = json.Unmarshal([]byte(k.Default), &n)
		return n
	}
	return k.Default
}
