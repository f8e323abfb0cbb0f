// Paths of the extension and the repository, from the compiled tests in out/unit/test/.
import * as path from 'node:path';

/** editors/vscode. */
export const extensionDir = path.resolve(__dirname, '..', '..', '..');

/** The repository root. */
export const repoDir = path.resolve(extensionDir, '..', '..');
