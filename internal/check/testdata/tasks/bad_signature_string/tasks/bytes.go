package main

// exec_task takes bytes, which the template does not pass.
func exec_task(payload []byte) string {
	return string(payload)
}
