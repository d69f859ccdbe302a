// Reading a spec file: the one place a spec comes from disk (contracts/ does no I/O).
import { readFile } from 'node:fs/promises';
import { parseSpecText, SpecError, type SweepSpec } from '../contracts/spec/sweep.js';

export async function loadSpecFile(path: string): Promise<SweepSpec> {
  const text = await readFile(path, 'utf8');
  if (text.length > 1024 * 1024) throw new SpecError(`${path} is larger than 1 MiB; a sweep spec is a few KB`, []);
  return parseSpecText(text, path);
}
