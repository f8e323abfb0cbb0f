package helpers

func helper(s string) string { return s }
