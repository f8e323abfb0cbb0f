package schema

import (
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"testing"

	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

var update = flag.Bool("update", false, "rewrite schemas/workflow.schema.json")

const committed = "../../schemas/workflow.schema.json"

// TestCommittedSchemaInSync fails when the committed schema drifts from the key table
// and the template registry it is generated from.
func TestCommittedSchemaInSync(t *testing.T) {
	got, err := Generate(templates.Default())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(committed, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatalf("%v (go test ./internal/schema -update writes it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is out of date: run go test ./internal/schema -update", committed)
	}
}

func TestSchemaCoversEveryKeyAndTemplate(t *testing.T) {
	b, err := Generate(templates.Default())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ID          string                     `json:"$id"`
		Properties  map[string]json.RawMessage `json:"properties"`
		Definitions struct {
			Task struct {
				Properties map[string]struct {
					Description string   `json:"description"`
					Enum        []string `json:"enum"`
					Pattern     string   `json:"pattern"`
				} `json:"properties"`
				AllOf []json.RawMessage `json:"allOf"`
			} `json:"task"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != ID {
		t.Errorf("$id = %q", doc.ID)
	}
	for _, k := range workflow.Keys() {
		if k.Scope == workflow.Project {
			if _, ok := doc.Properties[k.Key]; !ok {
				t.Errorf("project key %s missing", k.Key)
			}
			continue
		}
		p, ok := doc.Definitions.Task.Properties[k.Key]
		if !ok || p.Description == "" {
			t.Errorf("task key %s missing or undocumented", k.Key)
		}
		if p.Pattern != "" {
			if _, err := regexp.Compile(p.Pattern); err != nil {
				t.Errorf("key %s: pattern does not compile: %v", k.Key, err)
			}
		}
	}
	if got, want := len(doc.Definitions.Task.Properties["type"].Enum), len(templates.Default().Names()); got != want {
		t.Errorf("type enum has %d templates, registry %d", got, want)
	}
	if got, want := len(doc.Definitions.Task.AllOf), len(templates.Default().Names())+1; got != want {
		t.Errorf("allOf has %d conditions, want %d (one per template + targets)", got, want)
	}
}

func TestTopicPatterns(t *testing.T) {
	b, _ := Generate(templates.Default())
	var doc struct {
		Definitions struct {
			Task struct {
				Properties map[string]struct {
					Pattern string `json:"pattern"`
				} `json:"properties"`
			} `json:"task"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	src := regexp.MustCompile(doc.Definitions.Task.Properties["source_topic"].Pattern)
	dst := regexp.MustCompile(doc.Definitions.Task.Properties["dest_topic"].Pattern)
	for s, want := range map[string][2]bool{
		"a":      {true, true},
		"a.b.c":  {true, true},
		"a.*.c":  {true, false},
		"a.>":    {true, false},
		">":      {true, false},
		"a.>.b":  {false, false},
		"a b":    {false, false},
		"a..b":   {false, false},
		".a":     {false, false},
		"a*":     {false, false},
		"café.🌡": {true, true},
	} {
		if got := src.MatchString(s); got != want[0] {
			t.Errorf("source_topic %q: match = %v, want %v", s, got, want[0])
		}
		if got := dst.MatchString(s); got != want[1] {
			t.Errorf("dest_topic %q: match = %v, want %v", s, got, want[1])
		}
	}
}
