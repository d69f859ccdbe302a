// `sweep report`: say where a finished sweep's report is; `--open` opens report.html (copied out
// of the bucket first, checksum-verified by the store, when the store is gs://).
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SweepResult } from '../contracts/sweep.js';
import { openStore } from '../core/storage.js';
import { PROJECT_ROOT } from './code-fingerprint.js';
import { localPath, reportLocationLines } from './sweep-summary.js';

export async function openReport(result: SweepResult, id: string, open: boolean): Promise<void> {
  for (const line of reportLocationLines(result)) console.log(line);
  if (!open) return;
  const uri = result.reportHtmlUri ?? result.reportMarkdownUri;
  let path = localPath(uri);
  if (!uri.startsWith('file://')) {
    const root = uri.slice(0, uri.indexOf('/reports/'));
    const store = openStore(root);
    const dir = join(PROJECT_ROOT, '.synthscale', 'reports', id.replace(/[^\w.-]/g, '_'));
    await mkdir(dir, { recursive: true });
    path = join(dir, uri.slice(uri.lastIndexOf('/') + 1));
    await writeFile(path, await store.get(store.keyOf(uri), { maxBytes: 256 * 1024 * 1024 }));
    console.log(`copied to ${path}`);
  }
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [path], { detached: true, stdio: 'ignore' });
  child.on('error', () => console.log(`no ${opener} here: open ${path} in a browser`));
  child.unref();
}
