// Maps the modules only VS Code provides to the stubs of this folder, for the
// unit tests under `node --test`. Import it before anything that imports
// 'vscode' or 'vscode-languageclient/node'.
import Module from 'node:module';
import * as path from 'node:path';

const stubs: Record<string, string> = {
  vscode: path.join(__dirname, 'vscode.js'),
  'vscode-languageclient/node': path.join(__dirname, 'languageclient.js'),
};

type Resolve = (request: string, ...rest: unknown[]) => string;
const mod = Module as unknown as { _resolveFilename: Resolve };
const original = mod._resolveFilename;
mod._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  const stub = stubs[request];
  return stub ?? original.call(this, request, ...rest);
};
