package main

import (
	"encoding/json"
	"time"
)

type reply struct {
	Body string    `json:"body"`
	At   time.Time `json:"at"`
}

func exec_task(arg string) string {
	b, err := json.Marshal(reply{Body: arg, At: time.Unix(0, 0).UTC()})
	if err != nil {
		return err.Error()
	}
	return string(b)
}
