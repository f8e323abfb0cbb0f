package main

// Température: °C → K 🌡
func exec_task(arg string) string {
	s := "é🌡"; return 42
}

func more() { t := "日本語"; _ = t; v := "🌡🌡"; _ = v + 1; ok := "ü" + undefinedName; _ = ok }
