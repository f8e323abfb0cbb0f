package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/goimporter"
)

// benchTaskSource returns a task file of about 200 lines importing encoding/json,
// strings, strconv, time and math; edit changes one literal so the memo never hits.
func benchTaskSource(edit int) []byte {
	var b strings.Builder
	b.WriteString(`package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

type reading struct {
	Sensor string    ` + "`json:\"sensor\"`" + `
	Value  float64   ` + "`json:\"value\"`" + `
	At     time.Time ` + "`json:\"at\"`" + `
}

func exec_task(arg string) string {
	var r reading
	if err := json.Unmarshal([]byte(arg), &r); err != nil {
		return "error: " + err.Error()
	}
	r.Value = convert(r.Value)
	out, err := json.Marshal(r)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(out)
}

func convert(c float64) float64 { return math.Round((c+273.15)*100) / 100 }
`)
	for i := 0; len(strings.Split(b.String(), "\n")) < 196; i++ {
		fmt.Fprintf(&b, `
func helper%d(s string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return "", err
	}
	d := time.Duration(n) * time.Millisecond
	return strconv.FormatFloat(math.Sqrt(float64(n))+d.Seconds(), 'f', 3, 64), nil
}
`, i)
	}
	fmt.Fprintf(&b, "\nconst edited = %d\n", edit)
	return []byte(b.String())
}

// BenchmarkTaskRecheckWarm measures a check of an edited 200-line task file whose
// imports are already loaded (the keystroke path). Target: median under 1 ms.
func BenchmarkTaskRecheckWarm(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tasks"), 0o755); err != nil {
		b.Fatal(err)
	}
	abs := filepath.Join(root, "tasks", "convert.go")
	c := NewTaskChecker(TaskCheckerOptions{})
	req := taskRequest(b, root, "processor_nats", "convert.go")
	content := benchTaskSource(0)
	req.Overlay = func(p string) ([]byte, bool) { return content, p == abs }
	if res := c.Check(context.Background(), req); res.Err != nil || len(res.Diagnostics) != 0 {
		b.Fatalf("warm-up: %v %v", res.Err, res.Diagnostics)
	}
	loads := c.Imports().Loads()
	edits := make([][]byte, 64)
	for i := range edits {
		edits[i] = benchTaskSource(i + 1)
	}
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		content = edits[i%len(edits)]
		if i >= len(edits) {
			// Past the first round the memo would answer: make each text new.
			content = append(append([]byte(nil), content...), fmt.Sprintf("\n// %d\n", i)...)
		}
		start := time.Now()
		res := c.Check(context.Background(), req)
		durations = append(durations, time.Since(start))
		if len(res.Diagnostics) != 0 {
			b.Fatalf("edit %d: %v", i, res.Diagnostics)
		}
	}
	b.StopTimer()
	if c.Imports().Loads() != loads {
		b.Fatalf("go list ran during warm checks")
	}
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds()), "median-µs")
}

// BenchmarkTaskFirstCheck20 measures the first check of a 20-task project with a new
// TaskChecker (empty import cache) and a warm Go build cache. Target: under 1 s.
func BenchmarkTaskFirstCheck20(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tasks"), 0o755); err != nil {
		b.Fatal(err)
	}
	uses := []string{"strings.ToUpper", "strconv.Itoa", "json.Marshal", "time.Now", "math.Abs", "bytes.Equal", "sort.Strings",
		"unicode.IsUpper", "fmt.Sprint", "errors.New", "regexp.MustCompile", "base64.StdEncoding", "hex.EncodeToString",
		"sha256.Sum256", "utf8.RuneLen", "csv.NewReader", "xml.Marshal", "url.Parse", "slices.Sort[[]int]", "maps.Keys[map[int]int]"}
	paths := map[string]string{"json": "encoding/json", "base64": "encoding/base64", "hex": "encoding/hex", "sha256": "crypto/sha256",
		"utf8": "unicode/utf8", "csv": "encoding/csv", "xml": "encoding/xml", "url": "net/url"}
	var reqs []TaskRequest
	for i, u := range uses {
		pkg := strings.Split(u, ".")[0]
		p := paths[pkg]
		if p == "" {
			p = pkg
		}
		src := fmt.Sprintf("package main\n\nimport (\n\t%q\n\t\"strings\"\n)\n\nvar _ = %s\n\nfunc exec_task(arg string) string { return strings.TrimSpace(arg) }\n", p, u)
		if p == "strings" {
			src = "package main\n\nimport \"strings\"\n\nfunc exec_task(arg string) string { return strings.ToUpper(arg) }\n"
		}
		name := fmt.Sprintf("t%02d.go", i)
		if err := os.WriteFile(filepath.Join(root, "tasks", name), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, taskRequest(b, root, "processor_nats", name))
	}
	// Warm the Go build cache once.
	for _, r := range NewTaskChecker(TaskCheckerOptions{}).CheckAll(context.Background(), reqs) {
		if len(r.Diagnostics) != 0 || r.Err != nil {
			b.Fatalf("%v %v", r.Err, r.Diagnostics)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := NewTaskChecker(TaskCheckerOptions{})
		for _, r := range c.CheckAll(context.Background(), reqs) {
			if len(r.Diagnostics) != 0 || r.Err != nil {
				b.Fatalf("%v %v", r.Err, r.Diagnostics)
			}
		}
	}
}

// BenchmarkTaskImportCacheMemory reports the heap held by an import cache loaded with
// encoding/json, strings, strconv, time and math.
func BenchmarkTaskImportCacheMemory(b *testing.B) {
	root := b.TempDir()
	paths := []string{"encoding/json", "strings", "strconv", "time", "math"}
	if _, err := goimporter.New(goimporter.Options{}).Resolve(context.Background(), root, paths); err != nil {
		b.Fatal(err) // warms the build cache
	}
	var total float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cache := goimporter.New(goimporter.Options{})
		im, err := cache.Resolve(context.Background(), root, paths)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		total += float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
		runtime.KeepAlive(cache)
		runtime.KeepAlive(im)
	}
	b.ReportMetric(total/float64(b.N)/(1<<20), "cache-MiB")
}
