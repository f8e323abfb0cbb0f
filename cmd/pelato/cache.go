package main

import (
	"fmt"
	"time"

	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/plural"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/spf13/cobra"
)

// cacheLimits returns the compile-cache bounds from settings (flags > environment >
// the .env of dir, when dir is not "").
func cacheLimits(dir string) (wasmrun.CacheLimits, error) {
	cfg, err := config.Loader{Dir: dir}.Load()
	if err != nil {
		return wasmrun.CacheLimits{}, usageError(err)
	}
	maxBytes, maxAge := cfg.CacheLimits()
	return wasmrun.CacheLimits{MaxBytes: maxBytes, MaxAge: maxAge}, nil
}

// cacheDirOf returns the cache root: the --cache-dir flag, else the default.
func cacheDirOf(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	dir, err := wasmrun.DefaultCacheDir()
	if err != nil {
		return "", usageError(err)
	}
	return dir, nil
}

// cacheReport is `pelato cache --format json`.
type cacheReport struct {
	wasmrun.CacheUsage
	// MaxBytes and MaxAgeSeconds are the bounds (-1: none).
	MaxBytes      int64 `json:"max_bytes"`
	MaxAgeSeconds int64 `json:"max_age_seconds"`
}

func cacheCmd() *cobra.Command {
	var dirFlag, format string
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show the size of the compile cache of 'pelato invoke'; 'pelato cache clean' empties it",
		Long: `pelato invoke compiles each task to WebAssembly once and keeps the module, and
the native code the runtime makes of it, in a cache (by default in the user cache
folder, e.g. ~/.cache/pelato). The cache is bounded: after each new compile the entries
unused for longer than CACHE_MAX_AGE (30d) go, then the least recently used until it
holds at most CACHE_MAX_SIZE (512MiB). cache prints what it holds and its bounds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			dir, err := cacheDirOf(dirFlag)
			if err != nil {
				return err
			}
			limits, err := cacheLimits("")
			if err != nil {
				return err
			}
			u, err := wasmrun.ReadCacheUsage(dir)
			if err != nil {
				return err
			}
			rep := cacheReport{CacheUsage: u, MaxBytes: limits.MaxBytes, MaxAgeSeconds: int64(limits.MaxAge / time.Second)}
			if limits.MaxAge < 0 {
				rep.MaxAgeSeconds = -1
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return writeJSON(out, rep)
			}
			fmt.Fprintf(out, "compile cache: %s\n", u.Dir)
			for _, p := range u.Parts {
				fmt.Fprintf(out, "  %-12s %s, %s  (%s)\n", p.Name+":", plural.Count(p.Entries, "file"), bytesText(p.Bytes), p.Dir)
			}
			bound := "no size bound"
			if limits.MaxBytes > 0 {
				bound = "at most " + bytesText(limits.MaxBytes)
			}
			age := "entries are kept however long they go unused"
			if limits.MaxAge > 0 {
				age = "entries unused for " + ageText(limits.MaxAge) + " are removed"
			}
			fmt.Fprintf(out, "  total:       %s of %s; %s\n", bytesText(u.Bytes), bound, age)
			return nil
		},
	}
	cmd.PersistentFlags().StringVar(&dirFlag, "cache-dir", "", "the cache folder (default: the user cache folder's pelato/)")
	formatFlag(cmd, &format, "text", "json")
	clean := &cobra.Command{
		Use:   "clean",
		Short: "Empty the compile cache (the next invoke of each task compiles it again)",
		Long: `clean removes the compiled modules and native code of the compile cache; nothing
else in the cache folder. The next 'pelato invoke' of each task compiles it again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := cacheDirOf(dirFlag)
			if err != nil {
				return err
			}
			removed, freed, err := wasmrun.CleanCache(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s (%s) from %s\n", plural.Count(removed, "file"), bytesText(freed), dir)
			return nil
		},
	}
	cmd.AddCommand(clean)
	return cmd
}

// bytesText writes a size for people: 88.5 MiB.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return plural.Count(int(n), "byte")
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ageText writes an age for people: 30 days, 12h0m0s.
func ageText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return plural.Count(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}
