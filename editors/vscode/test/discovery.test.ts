import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { DiscoveryEnv, findCli, findClone, findGo, findServer, isPelatoGoMod, projectOf, searchDirs } from '../src/discovery';
import { repoDir } from './paths';

/** A discovery environment whose executables are the given paths. */
function env(vars: Record<string, string>, executables: string[], platform: NodeJS.Platform = 'linux', home = '/home/u'): DiscoveryEnv {
  const set = new Set(executables);
  return { platform, env: vars, home, isExecutable: (p) => set.has(p) };
}

test('the pelato.path setting wins over every other place', () => {
  const de = env({ PATH: '/usr/bin' }, ['/opt/pelato-lsp', '/usr/bin/pelato-lsp']);
  assert.deepEqual(findServer('/opt/pelato-lsp', de), { path: '/opt/pelato-lsp', args: [], source: 'pelato.path' });
  assert.deepEqual(findServer(' ~/bin/pelato ', env({}, ['/home/u/bin/pelato'])), { path: '/home/u/bin/pelato', args: ['lsp'], source: 'pelato.path' });
});

test('a pelato.path that names no executable is an error, not a fallback', () => {
  const found = findServer('/nowhere/pelato-lsp', env({ PATH: '/usr/bin' }, ['/usr/bin/pelato-lsp']));
  assert.ok(found && 'error' in found);
  assert.match(found.error, /"\/nowhere\/pelato-lsp", which is not an executable file/);
});

test('without the setting: PATH, then $GOBIN, $GOPATH/bin (each entry), ~/go/bin', () => {
  const vars = { PATH: '/a:/b', GOBIN: '/gobin', GOPATH: '/gp1:/gp2' };
  assert.deepEqual(
    [...searchDirs(env(vars, []))].map((d) => `${d.source} ${d.dir}`),
    ['PATH /a', 'PATH /b', '$GOBIN /gobin', '$GOPATH/bin /gp1/bin', '$GOPATH/bin /gp2/bin', '~/go/bin /home/u/go/bin'],
  );
  assert.deepEqual(findServer(undefined, env(vars, ['/b/pelato-lsp', '/gobin/pelato-lsp'])), { path: '/b/pelato-lsp', args: [], source: 'PATH' });
  assert.deepEqual(findServer('', env(vars, ['/gp2/bin/pelato-lsp'])), { path: '/gp2/bin/pelato-lsp', args: [], source: '$GOPATH/bin' });
  assert.deepEqual(findServer('', env({ PATH: '/a' }, ['/home/u/go/bin/pelato-lsp'])), { path: '/home/u/go/bin/pelato-lsp', args: [], source: '~/go/bin' });
});

test('an editor whose PATH lacks Go\'s bin folders: go env GOBIN and GOPATH (go env -w included), asked only when needed', () => {
  let asked = 0;
  const withGo = (executables: string[], goEnv: { GOBIN?: string; GOPATH?: string } | undefined) => ({
    ...env({ PATH: '/usr/bin' }, executables),
    goEnv: () => ((asked += 1), goEnv),
  });
  assert.deepEqual(
    [...searchDirs(withGo([], { GOBIN: '/custom/bin', GOPATH: '/w1:/w2' }))].map((d) => `${d.source} ${d.dir}`),
    ['PATH /usr/bin', 'go env GOBIN /custom/bin', 'go env GOPATH /w1/bin', 'go env GOPATH /w2/bin', '~/go/bin /home/u/go/bin'],
  );
  assert.deepEqual(findServer('', withGo(['/w2/bin/pelato-lsp'], { GOPATH: '/w1:/w2' })), { path: '/w2/bin/pelato-lsp', args: [], source: 'go env GOPATH' });
  assert.deepEqual(findServer('', withGo(['/custom/bin/pelato-lsp'], { GOBIN: '/custom/bin', GOPATH: '/home/u/go' })), { path: '/custom/bin/pelato-lsp', args: [], source: 'go env GOBIN' });
  // go env's default GOPATH is ~/go: searched once, under its go env name.
  assert.deepEqual(findServer('', withGo(['/home/u/go/bin/pelato-lsp'], { GOPATH: '/home/u/go' })), { path: '/home/u/go/bin/pelato-lsp', args: [], source: 'go env GOPATH' });
  // No go command: ~/go/bin still.
  assert.deepEqual(findServer('', withGo(['/home/u/go/bin/pelato-lsp'], undefined)), { path: '/home/u/go/bin/pelato-lsp', args: [], source: '~/go/bin' });
  asked = 0;
  assert.deepEqual(findServer('', withGo(['/usr/bin/pelato-lsp'], { GOBIN: '/x' })), { path: '/usr/bin/pelato-lsp', args: [], source: 'PATH' });
  assert.equal(asked, 0, 'go env was run though the server is on PATH');
});

test('the go command: on PATH, else where Go\'s installers put it', () => {
  assert.equal(findGo(env({ PATH: '/a:/b' }, ['/b/go', '/usr/local/go/bin/go'])), '/b/go');
  assert.equal(findGo(env({ PATH: '/a' }, ['/usr/local/go/bin/go'])), '/usr/local/go/bin/go');
  assert.equal(findGo(env({ PATH: '/a' }, [])), undefined);
});

test('the pelato command line serves as `pelato lsp` when pelato-lsp is missing', () => {
  assert.deepEqual(findServer('', env({ PATH: '/a' }, ['/a/pelato'])), { path: '/a/pelato', args: ['lsp'], source: 'PATH' });
  assert.equal(findServer('', env({ PATH: '/a' }, [])), undefined);
});

test('Windows: .exe names and ; separators', () => {
  const de = env({ Path: 'C:\\bin;C:\\tools' }, ['C:\\tools\\pelato-lsp.exe'], 'win32', 'C:\\Users\\u');
  assert.deepEqual(findServer('', de), { path: 'C:\\tools\\pelato-lsp.exe', args: [], source: 'PATH' });
});

test('the command line for `pelato dev`: next to the server first', () => {
  const de = env({ PATH: '/a' }, ['/opt/pelato', '/a/pelato']);
  assert.deepEqual(findCli({ path: '/opt/pelato-lsp', args: [], source: 'pelato.path' }, de), { path: '/opt/pelato', args: [], source: 'next to pelato-lsp' });
  assert.deepEqual(findCli({ path: '/x/pelato-lsp', args: [], source: 'PATH' }, de), { path: '/a/pelato', args: [], source: 'PATH' });
  assert.deepEqual(findCli({ path: '/a/pelato', args: ['lsp'], source: 'PATH' }, de), { path: '/a/pelato', args: [], source: 'PATH' });
  assert.equal(findCli(undefined, env({}, [])), undefined);
});

test('a clone of pelato is found from a workspace folder inside it', () => {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  assert.equal(findClone([path.join(repoDir, 'examples', 'temperature')], read), repoDir);
  assert.equal(findClone([os.tmpdir()], read), undefined);
  assert.ok(isPelatoGoMod('// x\nmodule github.com/pelato-dev/pelato\n\ngo 1.26\n'));
  assert.ok(!isPelatoGoMod('module github.com/pelato-dev/pelatox\n'));
  assert.ok(!isPelatoGoMod('module example.com/other\n'));
});

test('the project of a file: workflow.yaml, or a Go file under tasks/', () => {
  const files = new Set(['/p/workflow.yaml']);
  const isFile = (f: string) => files.has(f);
  assert.equal(projectOf('/p/workflow.yaml', isFile), '/p');
  assert.equal(projectOf('/p/tasks/convert.go', isFile), '/p');
  assert.equal(projectOf('/p/tasks/filter/sub/x.go', isFile), '/p');
  assert.equal(projectOf('/p/main.go', isFile), undefined);
  assert.equal(projectOf('/q/tasks/convert.go', isFile), undefined);
  assert.equal(projectOf('/p/tasks/notes.txt', isFile), undefined);
});
