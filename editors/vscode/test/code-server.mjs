// The extension in a real VS Code: code-server (VS Code 1.139 in the browser)
// driven through Debian's Chromium by puppeteer-core, as a user would with the
// keyboard. It installs the packaged extension, opens a copy of
// examples/temperature, trusts it, types a typo into workflow.yaml and waits for
// pelato's PL101 in the Problems view, runs "pelato: Generate All Tasks" from
// the Command Palette and waits for gen/ on disk, and lists the Source Action…
// menu of a task. The server, pelato-lsp, is put where `go install` would put it
// (~/go/bin of a fresh HOME), which is not on code-server's PATH: the extension
// must find it there.
//
//   eval "$(bash .ci/code-server.sh)"        # installs code-server, Node.js 24, …
//   node editors/vscode/test/code-server.mjs  # with Node.js 22.12 or later
//
// Environment: PELATO_CODE_SERVER, PELATO_NODE24, PELATO_PUPPETEER and
// PELATO_CHROMIUM (printed by .ci/code-server.sh); PELATO_VSIX, a packaged
// extension (default: npm run package); PELATO_LSP, the server (default: go
// build); PELATO_SCREENSHOT, where to save a screenshot of the end;
// PELATO_TIME_LIMIT_S, the overall limit (default 600). Without the tools it
// says so and exits 0, except under CI=true, where it fails.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const extensionDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = path.resolve(extensionDir, '..', '..');
const ci = process.env.CI === 'true';
const limitS = Number(process.env.PELATO_TIME_LIMIT_S ?? 600);
// Each wait in the browser: generous, as a loaded CI machine loads the workbench slowly.
const WAIT_MS = 150_000;
const started = Date.now();
const children = [];
let tmp;

function log(msg) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}

function cleanup() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-c.pid, 'SIGKILL'); // its process group: code-server's server and extension hosts
      } catch {
        c.kill('SIGKILL');
      }
    }
  }
  if (tmp && !process.env.PELATO_KEEP) {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  cleanup();
  process.exit(1);
}

// The tools: a missing one skips (fails under CI=true).
const tools = {
  PELATO_CODE_SERVER: process.env.PELATO_CODE_SERVER,
  PELATO_NODE24: process.env.PELATO_NODE24,
  PELATO_PUPPETEER: process.env.PELATO_PUPPETEER,
  PELATO_CHROMIUM: process.env.PELATO_CHROMIUM ?? '/usr/bin/chromium',
};
const absent = Object.entries(tools).filter(([, v]) => !v || !fs.existsSync(v));
if (absent.length > 0) {
  const why = `${absent.map(([k, v]) => `${k}${v ? ` (${v})` : ''}`).join(', ')} missing: run eval "$(bash .ci/code-server.sh)" first`;
  if (ci) {
    console.error(`FAIL: ${why}`);
    process.exit(1);
  }
  console.log(`SKIP: ${why}`);
  process.exit(0);
}

const timer = setTimeout(() => fail(`not done within the time limit of ${limitS} s`), limitS * 1000);
timer.unref();
process.on('SIGINT', () => fail('interrupted'));
process.on('SIGTERM', () => fail('terminated'));

const require = createRequire(path.join(tools.PELATO_PUPPETEER, 'package.json'));
const puppeteer = require('puppeteer-core');

/** A free port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls cond (async) every 100 ms until it returns a truthy value or ms pass. */
async function waitFor(what, ms, cond) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond().catch(() => undefined);
    if (v) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pelato-code-server-')));
  const home = path.join(tmp, 'home');
  const userData = path.join(tmp, 'user-data');
  const extensions = path.join(tmp, 'extensions');
  const project = path.join(tmp, 'temperature');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(extensions);
  fs.cpSync(path.join(repoDir, 'examples', 'temperature'), project, { recursive: true, filter: (p) => path.basename(p) !== 'gen' });

  // The server where `go install` puts it: ~/go/bin of the fresh HOME, not on PATH.
  const goBin = path.join(home, 'go', 'bin');
  fs.mkdirSync(goBin, { recursive: true });
  // The user's login shell puts Go on PATH, but not ~/go/bin (VS Code's server
  // takes its extension host's environment from the login shell).
  const goRoot = execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
  fs.writeFileSync(path.join(home, '.profile'), `export PATH="${path.join(goRoot, 'bin')}:$PATH"\n`);
  fs.writeFileSync(path.join(home, '.bashrc'), `export PATH="${path.join(goRoot, 'bin')}:$PATH"\n`);
  if (process.env.PELATO_LSP) {
    fs.copyFileSync(process.env.PELATO_LSP, path.join(goBin, 'pelato-lsp'));
    fs.chmodSync(path.join(goBin, 'pelato-lsp'), 0o755);
  } else {
    execFileSync('go', ['build', '-o', path.join(goBin, 'pelato-lsp'), './cmd/pelato-lsp'], { cwd: repoDir, stdio: 'inherit' });
  }
  log('pelato-lsp built into ~/go/bin of a fresh HOME');

  let vsix = process.env.PELATO_VSIX;
  if (!vsix) {
    vsix = path.join(tmp, 'pelato.vsix');
    execFileSync('npx', ['vsce', 'package', '--no-dependencies', '--out', vsix], { cwd: extensionDir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  log(`extension packaged: ${vsix}`);

  // The user's go caches stay (a cold build cache makes type checks slow); GOPATH
  // is left to default to ~/go of the fresh HOME.
  const goEnv = {};
  for (const [i, v] of execFileSync('go', ['env', 'GOCACHE', 'GOMODCACHE'], { encoding: 'utf8' }).trim().split('\n').entries()) {
    goEnv[['GOCACHE', 'GOMODCACHE'][i]] = v;
  }
  const env = {
    PATH: [path.dirname(tools.PELATO_NODE24), path.join(goRoot, 'bin'), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    SHELL: '/bin/bash',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    ...goEnv,
    GOTOOLCHAIN: 'local',
  };
  const codeServer = (args, opts = {}) => spawn(tools.PELATO_NODE24, [tools.PELATO_CODE_SERVER, ...args], { env, detached: true, ...opts });
  const base = ['--user-data-dir', userData, '--extensions-dir', extensions, '--config', path.join(tmp, 'config.yaml')];
  fs.writeFileSync(path.join(tmp, 'config.yaml'), 'auth: none\n');

  const install = codeServer([...base, '--install-extension', vsix, '--force'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(install);
  let installOut = '';
  install.stdout.on('data', (d) => (installOut += d));
  install.stderr.on('data', (d) => (installOut += d));
  const code = await new Promise((resolve) => install.on('exit', resolve));
  if (code !== 0 || !fs.readdirSync(extensions).some((n) => n.startsWith('pelato-dev.pelato-'))) {
    fail(`code-server --install-extension ${vsix} exited ${code}:\n${installOut}`);
  }
  log('extension installed into code-server');

  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({
      'security.workspace.trust.enabled': true,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'extensions.ignoreRecommendations': true,
      'update.mode': 'none',
      'chat.disableAIFeatures': true,
      'git.enabled': false,
      'editor.autoClosingBrackets': 'never',
      'files.autoSave': 'off',
    }),
  );

  const port = await freePort();
  const server = codeServer([...base, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(server);
  let serverOut = '';
  server.stdout.on('data', (d) => (serverOut += d));
  server.stderr.on('data', (d) => (serverOut += d));
  await waitFor('code-server to listen', WAIT_MS, async () => {
    if (server.exitCode !== null) {
      fail(`code-server exited ${server.exitCode}:\n${serverOut}`);
    }
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return res.ok;
  });
  log(`code-server listening on 127.0.0.1:${port}`);

  const browser = await puppeteer.launch({
    executablePath: tools.PELATO_CHROMIUM,
    headless: true,
    userDataDir: path.join(tmp, 'chromium'),
    defaultViewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  children.push(browser.process());
  try {
    await drive(browser, port, project, userData, home);
  } catch (e) {
    const shot = process.env.PELATO_SCREENSHOT ?? path.join(os.tmpdir(), 'pelato-code-server-failure.png');
    const [page] = await browser.pages();
    console.error(`dialogs: ${await page?.$$eval('.monaco-dialog-box', (els) => els.map((e) => e.textContent).join(' | ')).catch(() => '')}`);
    console.error(`notifications: ${await page?.$$eval('.notification-list-item-message', (els) => els.map((e) => e.textContent).join(' | ')).catch(() => '')}`);
    console.error(`status bar: ${await page?.$$eval('.statusbar-item', (els) => els.map((e) => e.textContent).join(' | ')).catch(() => '')}`);
    await page?.screenshot({ path: shot }).catch(() => undefined);
    console.error(`screenshot of the failure: ${shot}`);
    console.error(`code-server's output:\n${serverOut.slice(-4000)}`);
    const logs = path.join(userData, 'logs');
    for (const f of fs.existsSync(logs) ? fs.readdirSync(logs, { recursive: true }) : []) {
      if (String(f).includes('pelato') && String(f).endsWith('.log')) {
        console.error(`--- ${f}\n${fs.readFileSync(path.join(logs, String(f)), 'utf8').slice(-4000)}`);
      }
    }
    throw e;
  } finally {
    await browser.close().catch(() => undefined);
  }
}

/** The user's part: the workbench in the browser. */
async function drive(browser, port, project, userData, home) {
  const [page] = await browser.pages();
  page.setDefaultTimeout(WAIT_MS);
  const mod = 'Control';
  const key = async (...keys) => {
    for (const k of keys.slice(0, -1)) {
      await page.keyboard.down(k);
    }
    await page.keyboard.press(keys.at(-1));
    for (const k of keys.slice(0, -1).reverse()) {
      await page.keyboard.up(k);
    }
  };
  const text = (selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent ?? '').join('\n'));

  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(project)}`, { waitUntil: 'domcontentloaded', timeout: WAIT_MS });
  await page.waitForSelector('.monaco-workbench', { timeout: WAIT_MS });
  log('workbench loaded');

  // Restricted Mode: trust the workspace as a user does, from the Restricted
  // Mode item of the status bar and the Trust button of the editor it opens.
  await waitFor('the Restricted Mode item', WAIT_MS, async () => (await text('.statusbar-item')).includes('Restricted Mode'));
  // The workbench may re-render while it settles: find and click anew each time.
  await waitFor('Restricted Mode to end after clicking Trust', WAIT_MS, async () => {
    if (!(await text('.statusbar-item')).includes('Restricted Mode')) {
      return true;
    }
    await page.evaluate(() => {
      const trust = [...document.querySelectorAll('.workspace-trust-editor .monaco-button')].find((e) => /^Trust( Folder)?$/.test((e.textContent ?? '').trim()));
      if (trust) {
        trust.click();
        return;
      }
      const item = [...document.querySelectorAll('.statusbar-item')].find((e) => (e.textContent ?? '').includes('Restricted Mode'));
      item?.querySelector('a, .statusbar-item-label')?.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    });
    await new Promise((r) => setTimeout(r, 2000));
    return false;
  });
  await key(mod, 'w'); // close the workspace trust editor
  log('workspace trusted');

  // The pelato status bar item says the server runs (found in ~/go/bin).
  await waitFor('the pelato status bar item to show a running server', WAIT_MS, async () => {
    const t = await text('.statusbar-item');
    return /\bpelato\b/.test(t) && !t.includes('pelato: stopped');
  });

  // The extension found the server off PATH, where `go install` put it.
  const found = await waitFor('the server in the pelato output log', WAIT_MS, async () => {
    const logs = path.join(userData, 'logs');
    for (const f of fs.readdirSync(logs, { recursive: true })) {
      if (String(f).endsWith('pelato.log')) {
        const line = fs.readFileSync(path.join(logs, String(f)), 'utf8').split('\n').find((l) => l.startsWith('Starting '));
        if (line) {
          return line;
        }
      }
    }
    return undefined;
  });
  log(`pelato output: ${found}`);
  if (!found.includes(path.join(home, 'go', 'bin', 'pelato-lsp'))) {
    throw new Error(`the extension started another server than the one in ~/go/bin: ${found}`);
  }

  // Open workflow.yaml with Quick Open and type a typo into its first key.
  const wf = path.join(project, 'workflow.yaml');
  await page.click('.monaco-workbench .part.editor');
  await key(mod, 'p');
  await page.waitForSelector('.quick-input-widget input', { visible: true });
  await page.keyboard.type('workflow.yaml');
  await waitFor('workflow.yaml in Quick Open', WAIT_MS, async () => (await text('.quick-input-list .monaco-list-row')).includes('workflow.yaml'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('.monaco-editor .view-lines', { visible: true });
  await waitFor('workflow.yaml in the editor', WAIT_MS, async () => (await text('.monaco-editor .view-lines')).includes('project_name'));
  log('workflow.yaml open');
  await key(mod, 'Home');
  await page.keyboard.press('ArrowDown'); // line 2: project_name
  await page.keyboard.press('Home');
  await page.keyboard.type('x');
  await key(mod, 'Shift', 'm'); // the Problems view
  const problems = await waitFor('PL101 in the Problems view', WAIT_MS, async () => {
    const t = await text('.markers-panel .monaco-list-row');
    return t.includes('PL101') ? t : undefined;
  });
  log(`Problems view: ${problems.replace(/\s+/g, ' ').slice(0, 200)}`);
  if (!/Unknown key|xproject_name/i.test(problems)) {
    throw new Error(`PL101 does not name the unknown key: ${problems}`);
  }

  // Undo the typo, save, and the problem goes.
  await page.click('.monaco-editor .view-lines');
  await key(mod, 'z');
  await key(mod, 's');
  await waitFor('PL101 to go', WAIT_MS, async () => !(await text('.markers-panel')).includes('PL101'));
  if (fs.readFileSync(wf, 'utf8') !== fs.readFileSync(path.join(repoDir, 'examples', 'temperature', 'workflow.yaml'), 'utf8')) {
    throw new Error('workflow.yaml on disk is not the original after undo and save');
  }
  log('typo undone and saved: PL101 gone');

  // Source actions of the task under the cursor: line 4, the first task.
  await page.click('.monaco-editor .view-lines');
  await key(mod, 'Home');
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('ArrowDown');
  }
  await runCommand(page, key, 'Source Action...');
  const actions = await waitFor('the source actions', WAIT_MS, async () => {
    const t = await page.$$eval('.action-widget .monaco-list-row', (els) => els.map((e) => (e.textContent ?? '').trim()));
    return t.some((x) => x.startsWith('pelato:')) ? t : undefined;
  });
  log(`Source Action… lists:\n  ${actions.join('\n  ')}`);
  for (const want of ['pelato: Generate task celsius_to_kelvin_conversion', 'pelato: Generate all tasks', 'pelato: Invoke task celsius_to_kelvin_conversion…']) {
    if (!actions.includes(want)) {
      throw new Error(`Source Action… lacks "${want}"`);
    }
  }
  await page.keyboard.press('Escape');

  // Generate from the Command Palette; gen/ appears on disk.
  await runCommand(page, key, 'pelato: Generate All Tasks');
  const gen = path.join(project, 'gen');
  await waitFor('gen/ with both components on disk', WAIT_MS, async () =>
    ['celsius_to_kelvin_conversion', 'temp_filter'].every((c) => fs.existsSync(path.join(gen, c, 'wadm.yaml'))),
  );
  log(`gen/ on disk: ${fs.readdirSync(gen).join(', ')}`);
  const note = await waitFor("the outcome's notification", WAIT_MS, async () => {
    const t = await text('.notifications-toasts .notification-list-item-message');
    return t.includes('pelato: Generate: generated 2 components') ? t : undefined;
  });
  log(`notification: ${note}`);

  if (process.env.PELATO_SCREENSHOT) {
    await page.screenshot({ path: process.env.PELATO_SCREENSHOT });
    log(`screenshot: ${process.env.PELATO_SCREENSHOT}`);
  }
}

/** Runs a command from the Command Palette (F1) by its title. */
async function runCommand(page, key, title) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { visible: true });
  await page.keyboard.type(title);
  await waitFor(`"${title}" in the Command Palette`, WAIT_MS, async () => {
    const rows = await page.$$eval('.quick-input-list .monaco-list-row', (els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent ?? ''));
    return rows.length > 0 && rows[0].includes(title.replace(/\.\.\.$/, ''));
  });
  await page.keyboard.press('Enter');
}

try {
  await main();
  log('PASS');
  cleanup();
  process.exit(0);
} catch (e) {
  fail(e instanceof Error ? e.stack ?? e.message : String(e));
}
