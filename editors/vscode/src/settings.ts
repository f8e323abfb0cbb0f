// The settings the extension passes to pelato-lsp: every pelato.* setting of
// package.json but the extension's own. The server's settings table
// (internal/lsp SettingDocs) is mirrored there; a Go test keeps them in step.

/** Settings of the extension itself, never sent to the server. */
export const EXTENSION_ONLY: readonly string[] = ['path', 'trace.server'];

/** The subset of package.json read here. */
export interface Manifest {
  contributes?: { configuration?: { properties?: Record<string, unknown> } | Array<{ properties?: Record<string, unknown> }> };
}

/** The keys (without "pelato.") of the settings that go to the server. */
export function serverSettingKeys(manifest: Manifest): string[] {
  const conf = manifest.contributes?.configuration;
  const sections = Array.isArray(conf) ? conf : conf ? [conf] : [];
  const keys: string[] = [];
  for (const section of sections) {
    for (const name of Object.keys(section.properties ?? {})) {
      if (name.startsWith('pelato.')) {
        const key = name.slice('pelato.'.length);
        if (!EXTENSION_ONLY.includes(key)) {
          keys.push(key);
        }
      }
    }
  }
  return keys;
}

/**
 * The server's settings: the value of each key as get returns it (the user's
 * value or the default). Keys whose value is undefined are left out.
 */
export function serverSettings(keys: readonly string[], get: (key: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const v = get(key);
    if (v !== undefined) {
      out[key] = v;
    }
  }
  return out;
}
