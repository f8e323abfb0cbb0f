// Finding the pelato-lsp server and the pelato command line: the pelato.path
// setting, else the PATH, else where `go install` puts binaries ($GOBIN,
// $GOPATH/bin, the go command's own GOBIN and GOPATH — `go env -w` settings
// included — and ~/go/bin), which an editor's PATH often lacks (code-server,
// remote hosts, an editor started from a desktop menu).

import * as path from 'node:path';

/** What discovery looks at: injected so that tests control it. */
export interface DiscoveryEnv {
  readonly platform: NodeJS.Platform;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly home: string;
  /** Whether path is an executable regular file. */
  isExecutable(path: string): boolean;
  /**
   * GOBIN and GOPATH as `go env` reports them, when a go command is found;
   * called only when the places before it hold no program.
   */
  goEnv?(): { GOBIN?: string; GOPATH?: string } | undefined;
}

/** Where a program was found. */
export type Source = 'pelato.path' | 'PATH' | '$GOBIN' | '$GOPATH/bin' | 'go env GOBIN' | 'go env GOPATH' | '~/go/bin' | 'next to pelato-lsp';

/** A program to run. */
export interface Found {
  readonly path: string;
  /** Arguments that select the language server (["lsp"] for the pelato CLI). */
  readonly args: string[];
  readonly source: Source;
}

/** The places searched, for messages. */
export const SEARCHED = 'the pelato.path setting, PATH, $GOBIN, $GOPATH/bin, `go env GOBIN` and `go env GOPATH`/bin, and ~/go/bin';

/** The module of pelato's repository, as its go.mod declares it. */
export const MODULE = 'github.com/pelato-dev/pelato';

/** The command that installs pelato-lsp and pelato from a clone of the repository. */
export const INSTALL_ARGS = ['install', './cmd/pelato-lsp', './cmd/pelato'];

/** The install command as a user would type it. */
export const INSTALL_COMMAND = `go ${INSTALL_ARGS.join(' ')}`;

function exe(name: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? `${name}.exe` : name;
}

function pathFor(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** The folders searched for a program, in order, with their source; go env is asked only when reached. */
export function* searchDirs(de: DiscoveryEnv): Generator<{ dir: string; source: Source }> {
  const p = pathFor(de.platform);
  const seen = new Set<string>();
  function* dirs(list: Array<{ dir: string; source: Source }>) {
    for (const d of list) {
      if (d.dir !== '' && !seen.has(d.dir)) {
        seen.add(d.dir);
        yield d;
      }
    }
  }
  const gopathBins = (gopath: string | undefined, source: Source) =>
    (gopath ?? '')
      .split(p.delimiter)
      .filter((g) => g !== '')
      .map((g) => ({ dir: p.join(g, 'bin'), source }));
  yield* dirs((de.env.PATH ?? de.env.Path ?? '').split(p.delimiter).map((dir) => ({ dir, source: 'PATH' as Source })));
  yield* dirs([{ dir: de.env.GOBIN ?? '', source: '$GOBIN' }, ...gopathBins(de.env.GOPATH, '$GOPATH/bin')]);
  const home = de.home !== '' ? p.join(de.home, 'go', 'bin') : '';
  if (de.goEnv) {
    const g = de.goEnv();
    yield* dirs([{ dir: g?.GOBIN ?? '', source: 'go env GOBIN' }, ...gopathBins(g?.GOPATH, 'go env GOPATH')]);
  }
  yield* dirs([{ dir: home, source: '~/go/bin' }]);
}

/** Finds a program by name in searchDirs. */
export function findProgram(name: string, de: DiscoveryEnv): Found | undefined {
  const p = pathFor(de.platform);
  for (const { dir, source } of searchDirs(de)) {
    const candidate = p.join(dir, exe(name, de.platform));
    if (de.isExecutable(candidate)) {
      return { path: candidate, args: [], source };
    }
  }
  return undefined;
}

/** Where Go's installers put the go command, for an editor whose PATH lacks it. */
export function goCandidates(platform: NodeJS.Platform): string[] {
  return platform === 'win32' ? ['C:\\Program Files\\Go\\bin\\go.exe'] : ['/usr/local/go/bin/go', '/opt/homebrew/bin/go', '/usr/local/bin/go', '/usr/lib/go/bin/go'];
}

/** Finds the go command: on PATH, else where Go's installers put it. */
export function findGo(de: DiscoveryEnv): string | undefined {
  const p = pathFor(de.platform);
  for (const dir of (de.env.PATH ?? de.env.Path ?? '').split(p.delimiter)) {
    if (dir !== '' && de.isExecutable(p.join(dir, exe('go', de.platform)))) {
      return p.join(dir, exe('go', de.platform));
    }
  }
  return goCandidates(de.platform).find((c) => de.isExecutable(c));
}

/** Expands a leading ~ of a setting to the home folder. */
export function expandHome(value: string, de: DiscoveryEnv): string {
  if (value === '~' || value.startsWith('~/') || value.startsWith('~\\')) {
    return pathFor(de.platform).join(de.home, value.slice(1));
  }
  return value;
}

/**
 * Finds the language server: the pelato.path setting when set (an error when it
 * names no executable), else pelato-lsp in searchDirs, else the pelato command
 * line (run as `pelato lsp`). Undefined when there is none.
 */
export function findServer(setting: string | undefined, de: DiscoveryEnv): Found | { error: string } | undefined {
  const configured = (setting ?? '').trim();
  if (configured !== '') {
    const file = expandHome(configured, de);
    if (!de.isExecutable(file)) {
      return { error: `The pelato.path setting is "${configured}", which is not an executable file. Set it to the pelato-lsp binary, or clear it to search ${SEARCHED}.` };
    }
    const base = pathFor(de.platform).basename(file).replace(/\.exe$/i, '');
    return { path: file, args: base === 'pelato' ? ['lsp'] : [], source: 'pelato.path' };
  }
  const server = findProgram('pelato-lsp', de);
  if (server) {
    return server;
  }
  const cli = findProgram('pelato', de);
  return cli ? { ...cli, args: ['lsp'] } : undefined;
}

/** Finds the pelato command line: next to the server, else in searchDirs. */
export function findCli(server: Found | undefined, de: DiscoveryEnv): Found | undefined {
  if (server) {
    const p = pathFor(de.platform);
    if (server.args.length > 0) {
      return { path: server.path, args: [], source: server.source }; // the server is the CLI
    }
    const sibling = p.join(p.dirname(server.path), exe('pelato', de.platform));
    if (de.isExecutable(sibling)) {
      return { path: sibling, args: [], source: 'next to pelato-lsp' };
    }
  }
  return findProgram('pelato', de);
}

/** Whether a go.mod is the one of pelato's repository. */
export function isPelatoGoMod(text: string): boolean {
  return new RegExp(`^module\\s+${MODULE.replace(/[./]/g, '\\$&')}\\s*(//.*)?$`, 'm').test(text);
}

/**
 * Finds a clone of pelato's repository at or above one of dirs (a workspace
 * folder inside the repository, such as its examples/). readFile returns a
 * file's text or undefined.
 */
export function findClone(dirs: readonly string[], readFile: (file: string) => string | undefined): string | undefined {
  for (let dir of dirs) {
    for (;;) {
      const text = readFile(path.join(dir, 'go.mod'));
      if (text !== undefined && isPelatoGoMod(text)) {
        return dir;
      }
      const parent = path.dirname(dir);
      if (parent === dir) {
        break;
      }
      dir = parent;
    }
  }
  return undefined;
}

/**
 * Returns the pelato project (the folder holding workflow.yaml) of a file: a
 * workflow.yaml's folder, or for a Go file below a tasks/ folder the parent of
 * that folder when it holds a workflow.yaml. isFile reports whether a path is a
 * regular file.
 */
export function projectOf(file: string, isFile: (path: string) => boolean): string | undefined {
  if (path.basename(file) === 'workflow.yaml') {
    return path.dirname(file);
  }
  if (path.extname(file) !== '.go') {
    return undefined;
  }
  for (let dir = path.dirname(file); ; ) {
    const parent = path.dirname(dir);
    if (parent === dir) {
      return undefined;
    }
    if (path.basename(dir) === 'tasks' && isFile(path.join(parent, 'workflow.yaml'))) {
      return parent;
    }
    dir = parent;
  }
}
