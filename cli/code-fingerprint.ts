// What "same code" means for `sweep rerun`: a hash of the pipeline's source (stages, workflows,
// core, specs' schema) and the locked dependency versions. A changed comment changes it too; the
// rerun that follows then finds every stage's artifacts by their content keys and recomputes none.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../core/hash.js';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CODE_DIRS = ['activities', 'workflows', 'core', 'workers'];

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** sha256 over the pipeline's .ts sources (sorted by path) and package-lock.json; 16 hex digits. */
export async function codeFingerprint(root = PROJECT_ROOT): Promise<string> {
  const files = (await Promise.all(CODE_DIRS.map((d) => sourceFiles(join(root, d))))).flat();
  files.push(join(root, 'package-lock.json'));
  files.sort();
  const parts: string[] = [];
  for (const file of files) parts.push(`${relative(root, file)}\n${sha256Hex(await readFile(file))}`);
  return sha256Hex(parts.join('\n')).slice(0, 16);
}
