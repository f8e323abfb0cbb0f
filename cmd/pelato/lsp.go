package main

import (
	"fmt"

	"github.com/pelato-dev/pelato/internal/lsp"
	"github.com/spf13/cobra"
)

// lspCmd is `pelato lsp`: the language server, as `pelato-lsp` serves it.
func lspCmd() *cobra.Command {
	var logFile, logLevel, maxMessage string
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Run the language server over stdin and stdout",
		Long: `lsp runs pelato's language server (the same as pelato-lsp): diagnostics, completion,
hover, navigation, quick fixes and pipeline commands for workflow.yaml and task files.
Editors start it and talk the Language Server Protocol over stdin and stdout. The log
goes to the editor (window/logMessage, each line with its level) and to --logfile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			limit, err := lsp.ParseSize(maxMessage)
			if err != nil {
				return usageError(fmt.Errorf("--max-message-size: %w", err))
			}
			code, err := lsp.ServeStdio(cmd.Context(), lsp.StdioOptions{
				In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), Log: cmd.ErrOrStderr(),
				LogFile: logFile, LogLevel: logLevel, Version: buildVersion(), MaxMessage: limit,
			})
			if err != nil {
				return usageError(err)
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&logFile, "logfile", "", "also append the server's log to this file (it goes to the editor as window/logMessage; without a file, stderr gets only warnings no editor can receive)")
	cmd.Flags().StringVar(&logLevel, "loglevel", "info", "log level: debug, info, warn or error")
	cmd.Flags().StringVar(&maxMessage, "max-message-size", "64MiB", "largest message read from the client (bytes, or with K/M/G); larger ones are refused")
	cmd.Flags().Bool("stdio", true, "serve over stdin and stdout (accepted for editors that pass it)")
	return cmd
}
