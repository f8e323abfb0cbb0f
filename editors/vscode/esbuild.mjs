// Builds the extension with esbuild.
//
//   node esbuild.mjs               out/extension.js (one bundle, with source map)
//   node esbuild.mjs --production  out/extension.js, minified, no source map
//   node esbuild.mjs --tests       out/unit/**: src and test compiled file by file
//                                  for `node --test`
//
// Every build first copies the repository's schemas/workflow.schema.json into
// schemas/ (contributed as yamlValidation) and its LICENSE, so the package
// always carries the current ones.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const args = new Set(process.argv.slice(2));

mkdirSync(join(here, 'schemas'), { recursive: true });
copyFileSync(join(repo, 'schemas', 'workflow.schema.json'), join(here, 'schemas', 'workflow.schema.json'));
copyFileSync(join(repo, 'LICENSE'), join(here, 'LICENSE'));

function tsFiles(dir) {
  return readdirSync(join(here, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

if (args.has('--tests')) {
  rmSync(join(here, 'out', 'unit'), { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [...tsFiles('src'), ...tsFiles('test')],
    outdir: join(here, 'out', 'unit'),
    outbase: here,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  // Compiled file by file, src/verbs.js requires the table beside it.
  copyFileSync(join(here, 'src', 'commands.json'), join(here, 'out', 'unit', 'src', 'commands.json'));
} else {
  const production = args.has('--production');
  await esbuild.build({
    entryPoints: [join(here, 'src', 'extension.ts')],
    outfile: join(here, 'out', 'extension.js'),
    bundle: true,
    external: ['vscode'],
    format: 'cjs',
    platform: 'node',
    target: 'node18',
    minify: production,
    sourcemap: !production,
    sourcesContent: false,
    metafile: false,
    logLevel: 'warning',
  });
}
