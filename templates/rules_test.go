package templates

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/wadm"

	"github.com/pelato-dev/pelato/internal/testenv"
)

// squash collapses runs of white space, so checks do not depend on gofmt alignment.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// formatOf returns the format string of the first fmt.Errorf(`"<prefix>...", ...)` in src.
func formatOf(t *testing.T, src, prefix string) string {
	t.Helper()
	m := regexp.MustCompile(`fmt\.Errorf\(("` + regexp.QuoteMeta(prefix) + `[^"]*")`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("no fmt.Errorf(%q...) in the generated source", prefix)
	}
	f, err := strconv.Unquote(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestGeneratedRules holds each template's generated harness to every behaviour rule
// that applies to it (templates.BehaviourRules); internal/devrun's TestTemplateRules
// holds pelato dev to the same list, so the two implementations state one behaviour.
func TestGeneratedRules(t *testing.T) {
	has := func(t *testing.T, src string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(squash(src), squash(p)) {
				t.Errorf("the generated harness lacks %q", p)
			}
		}
	}
	checks := map[string]func(t *testing.T, src string){
		"empty-body": func(t *testing.T, src string) {
			has(t, src, "if len(body) == 0 {")
			got := fmt.Errorf(formatOf(t, src, "empty message body"), strconv.Quote("a.b")).Error()
			if want := EmptyBodyError("a.b").Error(); got != want {
				t.Errorf("harness says %q, dev says %q", got, want)
			}
		},
		"panic-traps": func(t *testing.T, src string) {
			// No recovery: it would do nothing in TinyGo on WebAssembly, and claim it does.
			if strings.Contains(src, "= recover()") {
				t.Errorf("the generated harness calls recover(), which has no effect in TinyGo on WebAssembly")
			}
			has(t, src, "A panic in exec_task is not recovered")
		},
		"publish-dest": func(t *testing.T, src string) {
			has(t, src, fmt.Sprintf("pelatoDestTopicKey = %q", wadm.ConfigDestTopic), "configruntime.Get(pelatoDestTopicKey)", "pelatoPublish(topic, []byte(out))")
		},
		"reply-to": func(t *testing.T, src string) {
			has(t, src, `if reply := msg.ReplyTo.Some(); reply != nil && *reply != "" {`, "pelatoPublish(*reply, []byte(out))")
		},
		"http-ok": func(t *testing.T, src string) {
			has(t, src, fmt.Sprintf("return pelatoHTTPReply{status: %d, body: out}", StatusOK), `"content-type", "text/plain; charset=utf-8"`)
		},
		"http-method": func(t *testing.T, src string) {
			has(t, src, "if !method.Post() {", fmt.Sprintf("status: %d,", StatusMethodNotAllowed), "allowPost: true", `pelatoSetHeader(headers, "allow", "POST")`)
			m := regexp.MustCompile(`body: +"([^"]*)" \+ pelatoMethodName\(method\) \+ "([^"]*)"`).FindStringSubmatch(src)
			if m == nil || m[1]+"GET"+m[2] != MethodNotAllowedMessage("GET") {
				t.Errorf("405 body %q, dev says %q", m, MethodNotAllowedMessage("GET"))
			}
		},
		"http-empty": func(t *testing.T, src string) {
			has(t, src, fmt.Sprintf(`return pelatoHTTPReply{status: %d, body: "empty request body"}`, StatusEmptyBody))
		},
		"http-too-large": func(t *testing.T, src string) {
			m := regexp.MustCompile(`pelatoMaxBody = (\d+) << (\d+)`).FindStringSubmatch(src)
			if m == nil {
				t.Fatal("no pelatoMaxBody")
			}
			a, _ := strconv.Atoi(m[1])
			b, _ := strconv.Atoi(m[2])
			if a<<b != MaxHTTPBody {
				t.Errorf("harness caps bodies at %d, dev at %d", a<<b, MaxHTTPBody)
			}
			has(t, src, fmt.Sprintf("status, err = %d,", StatusTooLarge))
		},
		"http-task-failed": func(t *testing.T, src string) {
			has(t, src, "out, err := pelatoExec(string(data))", fmt.Sprintf("return pelatoHTTPReply{status: %d, body: err.Error()}", StatusTaskFailed),
				fmt.Sprintf("return pelatoHTTPReply{status: %d, body: err.Error()}", StatusPublishFailed))
		},
		"kv-decode": func(t *testing.T, src string) {
			has(t, src, "key, data, err := pelatoDecode(body)")
			runGeneratedDecode(t, src)
		},
		"kv-subject-key": func(t *testing.T, src string) {
			has(t, src, `if key == "" { key = msg.Subject }`)
		},
		"kv-empty-new-key": func(t *testing.T, src string) {
			has(t, src, `if newKey == "" {`, fmt.Sprintf("errors.New(%q)", ErrEmptyKey.Error()))
		},
		"kv-store": func(t *testing.T, src string) {
			// The harness opens the key-value link by name (wadm.KeyValueLinkName), whose
			// target config names the bucket: dev writes to that bucket directly.
			has(t, src, fmt.Sprintf("pelatoKVStore = %q", wadm.KeyValueLinkName), "store.Open(pelatoKVStore)", "bucket.Set(key, cm.ToList(value))")
		},
	}
	covered := map[string]bool{}
	for _, tpl := range Default().All() {
		files, err := Render(tpl, Data{ComponentName: "rules", Version: "1.0.0", Registry: "localhost:5000", Targets: []string{"t"},
			SourceTopic: "in", DestTopic: "out", Bucket: "b"})
		if err != nil {
			t.Fatal(err)
		}
		src := string(files["main.go"])
		for _, rule := range BehaviourRules() {
			if !rule.Applies(tpl) {
				continue
			}
			check, ok := checks[rule.ID]
			if !ok {
				t.Errorf("rule %s has no check against the generated source", rule.ID)
				continue
			}
			covered[rule.ID] = true
			t.Run(tpl.Name+"/"+rule.ID, func(t *testing.T) { check(t, src) })
		}
	}
	for id := range checks {
		if !covered[id] {
			t.Errorf("check %s matches no rule of any template", id)
		}
	}
}

// runGeneratedDecode compiles the generated pelatoDecode into a small program and runs
// it on a table of bodies, comparing each answer with DecodeKVMessage's.
func runGeneratedDecode(t *testing.T, src string) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; the generated decoder is compiled with it")
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "main.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var decls []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.Name == "pelatoDecode" {
				decls = append(decls, src[fset.Position(d.Pos()).Offset:fset.Position(d.End()).Offset])
			}
		case *ast.GenDecl:
			if d.Tok == token.TYPE && strings.Contains(src[fset.Position(d.Pos()).Offset:fset.Position(d.End()).Offset], "pelatoInput") {
				decls = append(decls, src[fset.Position(d.Pos()).Offset:fset.Position(d.End()).Offset])
			}
		}
	}
	if len(decls) != 2 {
		t.Fatalf("found %d of pelatoDecode and pelatoInput in the generated source", len(decls))
	}
	bodies := []string{`{"key":"k","data":"text"}`, `{"key":"k","data":{"n":[1,2]}}`, `{"data":null}`, `{}`, `{"key":"k","data":12.5}`,
		`{"key":"k","data":"\u00e9\n"}`, `not json`, `[1]`, `{"key":3}`, `{"key":"k","data":"x","extra":true}`}
	prog := "package main\n\nimport (\n\t\"encoding/json\"\n\t\"fmt\"\n\t\"os\"\n)\n\n" + strings.Join(decls, "\n\n") + `

func main() {
	var bodies []string
	json.Unmarshal([]byte(os.Args[1]), &bodies)
	var out [][3]string
	for _, b := range bodies {
		k, d, err := pelatoDecode([]byte(b))
		e := ""
		if err != nil {
			e = "error"
		}
		out = append(out, [3]string{k, d, e})
	}
	json.NewEncoder(os.Stdout).Encode(out)
	_ = fmt.Sprint
}
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	arg, _ := json.Marshal(bodies)
	cmd := exec.Command("go", "run", "main.go", string(arg))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOFLAGS=")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("running the generated decoder: %v", err)
	}
	var got [][3]string
	if err := json.Unmarshal(b, &got); err != nil || len(got) != len(bodies) {
		t.Fatalf("decoder output %s: %v", b, err)
	}
	for i, body := range bodies {
		k, d, err := DecodeKVMessage([]byte(body))
		e := ""
		if err != nil {
			e = "error"
		}
		if want := [3]string{k, d, e}; got[i] != want {
			t.Errorf("%s: generated harness %q, dev %q", body, got[i], want)
		}
	}
}
