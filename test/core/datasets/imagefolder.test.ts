// Listing and reading a local image folder (core/datasets/imagefolder.ts): order, what is ignored
// and what is refused with which reason, and the errors that name the path. (gs:// folders:
// gcs-inputs.test.ts.)
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { DatasetInputError, openImageFolder, type FolderEntry } from '../../../core/datasets/imagefolder.js';
import { SkippedInputError } from '../../../core/image/fit-geometry.js';
import { solid, TEXT, writeTree } from './image-fixtures.js';

let dir = '';
let png: Uint8Array;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthscale-imagefolder-'));
  png = await solid('png', [10, 20, 30], 8);
});
after(() => rm(dir, { recursive: true, force: true }));

async function folder(name: string, files: Record<string, Uint8Array | string>): Promise<string> {
  const root = join(dir, name);
  await writeTree(root, files);
  return root;
}

const summary = (entries: FolderEntry[]) => entries.map((e) => (e.skip ? `${e.id} !${e.skip.reason}` : e.id));

test('inputs are sorted by class folder then name; hidden files and metadata are ignored; other files are not-an-image', async () => {
  const root = await folder('basic', {
    'train/b/2.PNG': png,
    'train/b/10.jpg': png,
    'train/a/x.webp': png,
    'train/a/.DS_Store': 'x',
    'train/a/notes.txt': 'a note',
    'train/a/README': 'about',
    'train/a/anim.gif': 'GIF89a',
    'train/.hidden/1.png': png,
    'train/stray.png': png,
    'train/labels.csv': 'a,b',
    'classes.txt': 'a\nb\n',
    'test/a/1.png': png,
    'test/b/1.png': png,
  });
  const f = await openImageFolder(pathToFileURL(root).href, ['train', 'test']);
  assert.deepEqual(f.splits.train!.classFolders, ['a', 'b']);
  assert.deepEqual(summary(f.splits.train!.entries), ['train/stray.png !no-class-folder', 'train/a/anim.gif !not-an-image', 'train/a/x.webp', 'train/b/10.jpg', 'train/b/2.PNG']);
  assert.deepEqual(summary(f.splits.test!.entries), ['test/a/1.png', 'test/b/1.png']);
  const entry = f.splits.train!.entries.find((e) => e.id === 'train/a/x.webp')!;
  assert.deepEqual(await f.read(entry), png);
  assert.match(entry.stamp, /^\d+:\d+$/);
});

test('a folder inside a class folder is one nested-folder skip and is not read', async () => {
  const root = await folder('nested', { 'train/a/1.png': png, 'train/a/sub/2.png': png, 'train/a/sub/3.png': png, 'train/b/1.png': png });
  const f = await openImageFolder(root, ['train']);
  assert.deepEqual(summary(f.splits.train!.entries), ['train/a/1.png', 'train/a/sub/ !nested-folder', 'train/b/1.png']);
});

test('symbolic links: inside the root followed, outside refused (outside-root), dangling unreadable', async () => {
  const outside = join(dir, 'elsewhere.png');
  await writeFile(outside, png);
  const root = await folder('links', { 'train/a/1.png': png, 'train/b/1.png': png, 'shared/2.png': png });
  await symlink(outside, join(root, 'train/a/escape.png'));
  await symlink(join(root, 'shared/2.png'), join(root, 'train/a/inside.png'));
  await symlink(join(root, 'missing.png'), join(root, 'train/b/dangling.png'));
  const f = await openImageFolder(root, ['train']);
  assert.deepEqual(summary(f.splits.train!.entries), ['train/a/1.png', 'train/a/escape.png !outside-root', 'train/a/inside.png', 'train/b/1.png', 'train/b/dangling.png !unreadable']);
  assert.deepEqual(await f.read(f.splits.train!.entries.find((e) => e.id === 'train/a/inside.png')!), png);
});

test('a class folder linked outside the root is an error naming it', async () => {
  const elsewhere = join(dir, 'other-class');
  await writeTree(elsewhere, { '1.png': png });
  const root = await folder('linked-class', { 'train/a/1.png': png });
  await symlink(elsewhere, join(root, 'train/b'));
  await assert.rejects(openImageFolder(root, ['train']), (err: Error) => err instanceof DatasetInputError && /class folder .*train\/b is a link .* outside the root/.test(err.message));
});

test('an empty class folder, or one with no usable image, is an error naming the folder', async () => {
  const root = await folder('empty-class', { 'train/a/1.png': png, 'train/b/notes.txt': 'x' });
  await mkdir(join(root, 'train/c'));
  await assert.rejects(openImageFolder(root, ['train']), (err: Error) => err instanceof DatasetInputError && /class folder .*train\/b has no PNG, JPEG or WebP images/.test(err.message));
  const gifs = await folder('gif-class', { 'train/a/1.png': png, 'train/b/1.gif': 'GIF89a' });
  await assert.rejects(openImageFolder(gifs, ['train']), /train\/b has no PNG, JPEG or WebP images \(entries refused: not-an-image\)/);
});

test('a missing split folder names the path and the splits found; a missing root says so', async () => {
  const root = await folder('splits', { 'train/a/1.png': png, 'val/a/1.png': png, '.git/x': 'x' });
  await assert.rejects(openImageFolder(root, ['train', 'test']), (err: Error) => err instanceof DatasetInputError && err.message.includes(`${root}/test`) && err.message.includes('split folders found: train, val'));
  await assert.rejects(openImageFolder(join(dir, 'nope'), ['train']), /root .*nope does not exist/);
});

test('files over the size cap are too-large-file; an unreadable file is unreadable (not as root)', async (t) => {
  const root = await folder('caps', { 'train/a/small.png': png, 'train/a/big.png': new Uint8Array(5000), 'train/b/1.png': png });
  const f = await openImageFolder(root, ['train'], { maxFileBytes: 4000 });
  assert.deepEqual(summary(f.splits.train!.entries), ['train/a/big.png !too-large-file', 'train/a/small.png', 'train/b/1.png']);
  const small = f.splits.train!.entries.find((e) => e.id === 'train/a/small.png')!;
  await writeFile(join(root, 'train/a/small.png'), new Uint8Array(4500)); // grew after listing
  await assert.rejects(f.read(small), (err: Error) => err instanceof SkippedInputError && err.reason === 'too-large-file');
  await writeFile(join(root, 'train/a/small.png'), png);
  await chmod(join(root, 'train/a/small.png'), 0o000);
  if (process.getuid?.() === 0) {
    t.diagnostic('running as root, which reads mode-000 files: the unreadable assertion is skipped');
  } else {
    await assert.rejects(f.read(small), (err: Error) => err instanceof SkippedInputError && err.reason === 'unreadable');
  }
  await chmod(join(root, 'train/a/small.png'), 0o644);
  await rm(join(root, 'train/b/1.png'));
  await assert.rejects(f.read(f.splits.train!.entries.find((e) => e.id === 'train/b/1.png')!), (err: Error) => err instanceof SkippedInputError && err.reason === 'unreadable');
});

test('a fifo is not-a-file; text renamed .png is listed (the decoder refuses it)', async () => {
  const root = await folder('odd', { 'train/a/1.png': png, 'train/a/fake.png': TEXT, 'train/b/1.png': png });
  const { spawnSync } = await import('node:child_process');
  if (spawnSync('mkfifo', [join(root, 'train/b/pipe.png')]).status !== 0) return;
  const f = await openImageFolder(root, ['train']);
  assert.deepEqual(summary(f.splits.train!.entries), ['train/a/1.png', 'train/a/fake.png', 'train/b/1.png', 'train/b/pipe.png !not-a-file']);
});
