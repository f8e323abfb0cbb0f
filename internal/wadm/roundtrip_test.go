package wadm

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	goccy "github.com/goccy/go-yaml"
	"gopkg.in/yaml.v3"
)

// hostileStrings are the corpus of testdata/hostile/manifest: strings YAML readers
// take for something else (`<<`, `yes`, `0o17`, `~`), indicators, escapes, control
// characters, separators and very long lines.
func hostileStrings(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("../../testdata/hostile/manifest/strings.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// roundTrip marshals m and checks that both readers give it back: pelato's own
// strict decoder (yaml.v3) and a YAML 1.2 reader (goccy/go-yaml), whose generic
// result must equal the manifest's JSON form.
func roundTrip(t *testing.T, m *Manifest) {
	t.Helper()
	data, err := Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatalf("yaml.v3 (pelato's decoder) refuses pelato's output: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(m, back) {
		t.Fatalf("yaml.v3 reads back another manifest:\n%s", data)
	}
	var generic any
	if err := goccy.Unmarshal(data, &generic); err != nil {
		t.Fatalf("the YAML 1.2 reader refuses pelato's output: %v\n%s", err, data)
	}
	if got, want := normalize(t, generic), normalize(t, m); !reflect.DeepEqual(got, want) {
		t.Fatalf("the YAML 1.2 reader reads back something else:\n got %v\nwant %v\n%s", got, want, data)
	}
}

// normalize passes v through encoding/json, so that both sides compare as the same
// generic types.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("normalize: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("normalize: %v", err)
	}
	return out
}

// hostileManifest puts s everywhere a user's string reaches a manifest: the
// description, a config key and value, a target label.
func hostileManifest(key, value string) *Manifest {
	in := buildCases()["http_producer"]
	in.Name = value
	in.Targets = []string{"edge", value + "t"}
	in.Config = map[string]string{key: value, "k": key}
	return Build(in)
}

func TestManifestRoundTripHostile(t *testing.T) {
	for _, s := range hostileStrings(t) {
		t.Run(strings.ToValidUTF8(s[:min(len(s), 20)], "?"), func(t *testing.T) {
			roundTrip(t, hostileManifest(s, s))
			roundTrip(t, hostileManifest("key", s))
		})
	}
}

// The case: a `<<` key or value used to be written plain, a merge key, and
// pelato's own decoder refused its output.
func TestMergeKeyIsQuoted(t *testing.T) {
	data, err := Marshal(hostileManifest("<<", "<<"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"<<": "<<"`) {
		t.Errorf("`<<` must be quoted:\n%s", data)
	}
}

func FuzzManifestRoundTrip(f *testing.F) {
	for _, s := range hostileStrings(f) {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		if !utf8.ValidString(key) || !utf8.ValidString(value) {
			return // refused by Marshal (TestHostileStringsRoundTrip covers it)
		}
		roundTrip(t, hostileManifest(key, value))
	})
}

// TestPlainWordAgreesWithYAML: plainSafe's shortcut says only what yaml.v3's round
// trip would say.
func TestPlainWordAgreesWithYAML(t *testing.T) {
	for _, s := range []string{"name", "ghcr.io/acme/convert:0.1.0", "a:b", "_x", "/usr/bin", "y", "n", "yes", "No", "on", "OFF",
		"true", "null", "Null", "a1", "x-1.2", "a.b.c", "e1", "E", "inf", "nan", "a:", "a::b", "pelato_task-1", "x/y:z.w"} {
		if !plainWord(s) {
			continue
		}
		var back any
		err := yaml.Unmarshal([]byte(s), &back)
		if slow := err == nil && back == s; plainSafe(s) != slow && !(strings.HasSuffix(s, ":") || yaml11Bool.MatchString(s) || yaml12NonString.MatchString(s)) {
			t.Errorf("%q: plainSafe %v, yaml.v3 reads back %#v", s, plainSafe(s), back)
		}
	}
}
