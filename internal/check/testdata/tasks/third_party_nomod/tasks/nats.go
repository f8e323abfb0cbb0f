package main

import (
	"strings"

	_ "github.com/lib/pq"
	"github.com/nats-io/nats.go"
	yaml "gopkg.in/yaml.v3"
)

func exec_task(arg string) string {
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		return err.Error()
	}
	defer nc.Close()
	var v map[string]any
	_ = yaml.Unmarshal([]byte(arg), &v)
	return strings.ToUpper(arg) + undefinedLocal
}
