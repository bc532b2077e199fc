// The repository stands alone: a fresh clone is all a user has, so nothing
// tracked may refer to a file outside it, and every relative link in the
// documentation must lead to a file the clone contains.
//
// Rules, checked over every tracked text file (markdown, TypeScript,
// JavaScript, C, shell, JSON except package-lock.json, and scripts with a
// `#!` line):
//   (1) A relative path that climbs (starts with `..`) must not leave the
//       repository.
//       Module specifiers (`from '../x.js'`, `import('../x.js')`,
//       `new URL('../x', import.meta.url)`) and markdown link targets are
//       resolved from the file's own directory, as the tools resolve them.
//       Anywhere else (comments, prose) a reader may take a path from the
//       file's directory or from the repository root, so it must stay
//       inside from both: write repository paths from the root
//       (`docs/vmtrace.md`), not relative to the file.
//   (2) No absolute path into a workspace or home directory, as a path or a
//       file URL (a file URL as such, `file:///…/dist/…` in an example, is fine).
//   (3) Every relative link in README.md and docs/*.md resolves to a
//       tracked file (or a directory holding some), and a `#anchor` on a
//       markdown target names one of its headings.
// The checkers are plain functions, exercised below on known-bad input
// (the README as it was when it linked outside) so that the test is
// seen to fail where it should.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SPEC_EXAMPLE, SPEC_EXAMPLE_OUTPUT } from './spec-example.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** One step up, spelled so that this file passes its own check. */
const UP = '..' + '/';

/** Tracked files, repository-relative with `/` separators. */
function trackedFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status === 0 && r.stdout.length > 0) return r.stdout.split('\0').filter((f) => f !== '' && existsSync(path.join(ROOT, f)));
  // Not a git checkout (an unpacked archive): every file but what .gitignore
  // keeps out of the repository.
  const out: string[] = [];
  const skip = new Set(['.git', 'node_modules', 'dist', 'build', 'tmp']);
  const walk = (dir: string): void => {
    for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (!skip.has(e.name)) walk(rel);
      } else if (e.isFile() && !e.name.endsWith('.log')) {
        out.push(rel);
      }
    }
  };
  walk('');
  return out;
}

const TEXT_EXT = /\.(md|ts|mts|cts|js|mjs|cjs|c|h|sh|json)$/;

function isCheckedText(rel: string): boolean {
  if (path.basename(rel) === 'package-lock.json') return false;
  if (TEXT_EXT.test(rel)) return true;
  if (path.extname(rel) !== '') return false;
  const head = readFileSync(path.join(ROOT, rel)).subarray(0, 2).toString('latin1');
  return head === '#!';
}

/** Does repository-relative `rel` (already normalised) leave the root? */
const escapes = (rel: string): boolean => rel === '..' || rel.startsWith(UP) || path.posix.isAbsolute(rel);

export interface Finding { file: string; line: number; message: string }

const lineOf = (text: string, index: number): number => {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
};

/** A relative path that climbs: an optional `./`, one or more `..` + `/`, then the rest of the token. */
const CLIMB = /(?:\.\/)?(?:\.\.\/)+[^\s'"`)\]>,;*]*/g;
/** What precedes a module specifier or a URL built from import.meta.url. */
const MODULE_CONTEXT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*|\bnew\s+URL\s*\(\s*)['"`]$/;

/**
 * Rules (1) and (2) for one file: `rel` is its repository-relative path,
 * `text` its contents.
 */
export function findEscapes(rel: string, text: string): Finding[] {
  const found: Finding[] = [];
  const dir = path.posix.dirname(rel);
  for (const m of text.matchAll(CLIMB)) {
    const p = m[0];
    const at = m.index;
    const before = text.slice(Math.max(0, at - 40), at);
    const fromDir = path.posix.normalize(path.posix.join(dir, p));
    const fromRoot = path.posix.normalize(p);
    const moduleLike = MODULE_CONTEXT.test(before);
    const mdLink = rel.endsWith('.md') && /\]\(\s*<?$/.test(before);
    // JSON paths (tsconfig's extends, include) are the tools' too: from the file's directory.
    const toolPath = moduleLike || mdLink || rel.endsWith('.json');
    const bad = toolPath ? escapes(fromDir) : escapes(fromDir) || escapes(fromRoot);
    if (bad) found.push({ file: rel, line: lineOf(text, at), message: `path '${p}' leads outside the repository` });
  }
  for (const m of text.matchAll(/(?:file:\/\/(?=\/[^\s…'"`])|(?<![\w.~-])\/(?:work|home|Users)\/)[^\s'"`)\]>]*/g)) {
    found.push({ file: rel, line: lineOf(text, m.index), message: `absolute path '${m[0]}' points outside the repository` });
  }
  return found;
}

/** GitHub's anchor for a heading's text (lowercase, punctuation dropped, spaces to '-'). */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*_~]/g, (c) => (c === '_' ? '_' : ''))
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a markdown text defines: one per heading, duplicates numbered as GitHub does. */
export function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h === null) continue;
    const base = slug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Link targets in markdown outside code: inline `[text](target)` and `[label]: target` definitions. */
export function markdownLinks(markdown: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  const lines = markdown.split('\n');
  let fenced = false;
  lines.forEach((raw, i) => {
    if (/^\s*(```|~~~)/.test(raw)) {
      fenced = !fenced;
      return;
    }
    if (fenced || /^( {4}|\t)/.test(raw)) return; // code blocks
    const line = raw.replace(/`[^`]*`/g, '``'); // code spans
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1]!, line: i + 1 });
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (def !== null) out.push({ target: def[1]!, line: i + 1 });
  });
  return out;
}

/**
 * Rule (3) for markdown file `rel`: `files` is the set of tracked files,
 * `read` gives a tracked file's text (for anchors).
 */
export function findBrokenLinks(rel: string, text: string, files: ReadonlySet<string>, read: (f: string) => string): Finding[] {
  const found: Finding[] = [];
  const dir = path.posix.dirname(rel);
  const isDir = (d: string): boolean => d === '.' || [...files].some((f) => f.startsWith(`${d}/`));
  for (const { target, line } of markdownLinks(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const hash = target.indexOf('#');
    const file = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    const to = file === '' ? rel : path.posix.normalize(path.posix.join(dir, file));
    if (escapes(to) || file.startsWith('/')) {
      found.push({ file: rel, line, message: `link '${target}' leads outside the repository` });
      continue;
    }
    const dirTarget = to.replace(/\/$/, '');
    if (!files.has(to) && !isDir(dirTarget)) {
      found.push({ file: rel, line, message: `link '${target}': no such file in the repository (${to})` });
      continue;
    }
    if (anchor !== null && to.endsWith('.md') && !anchors(read(to)).has(anchor)) {
      found.push({ file: rel, line, message: `link '${target}': ${to} has no heading with anchor '#${anchor}'` });
    }
  }
  return found;
}

const show = (fs: Finding[]): string[] => fs.map((f) => `${f.file}:${f.line}: ${f.message}`);

// The examples below are spelled in pieces (UP, WORK, FILE_URL) so that
// this file passes its own check.
const WORK = '/' + 'work/';
const FILE_URL = 'file:' + '//';

describe('the checkers', () => {
  // The README's opening as it was before the project stood alone.
  const OLD_README = [
    '# vmtree',
    '',
    'linux-kernel a design for anonymous memory and reverse mapping: a **tree of',
    `\`address_space\` objects** ([the post](${UP}shared/seed/lokier-2000-vm-rebalancing.txt)).`,
    '',
    'The contract between the simulator, its tests and the kernel is the trace',
    `language [vmtrace v1](${UP}shared/spec/vmtrace.md).`,
    '',
  ].join('\n');

  it('flag the old README: both links leave the repository', () => {
    const files = new Set(['README.md']);
    expect(show(findEscapes('README.md', OLD_README))).toEqual([
      `README.md:4: path '${UP}shared/seed/lokier-2000-vm-rebalancing.txt' leads outside the repository`,
      `README.md:7: path '${UP}shared/spec/vmtrace.md' leads outside the repository`,
    ]);
    expect(findBrokenLinks('README.md', OLD_README, files, () => OLD_README).map((f) => f.line)).toEqual([4, 7]);
  });

  it('flag comments that reach outside, from the file or from the root', () => {
    expect(findEscapes('test/naive/model.ts', `// (${UP}${UP}${UP}shared/spec/vmtrace.md)\n`)).toHaveLength(1);
    expect(findEscapes('src/trace/ast.ts', `// (${UP}shared/spec/vmtrace.md)\n`)).toHaveLength(1);
    expect(findEscapes('docs/x.md', `see [x](${UP}${UP}elsewhere.md)\n`)).toHaveLength(1);
    expect(findEscapes('src/a.ts', `// notes in ${WORK}shared/seed/\n`)).toHaveLength(1);
    expect(findEscapes('src/a.ts', `const u = '${FILE_URL}/etc/passwd';\n`)).toHaveLength(1);
  });

  it('accept module specifiers and links that stay inside', () => {
    expect(findEscapes('src/mm/x.ts', "import { a } from '../anon/tree.js';\nconst b = await import('../trace/ast.js');\n")).toEqual([]);
    expect(findEscapes('src/cli.ts', "new URL('../package.json', import.meta.url)\n")).toEqual([]);
    expect(findEscapes('test/naive/model.ts', `import type { Command } from '${UP}${UP}src/trace/ast.js';\n`)).toEqual([]);
    expect(findEscapes('docs/vmtrace.md', `[the example](${UP}examples/spec-example.vmt)\n`)).toEqual([]);
    expect(findEscapes('src/a.ts', '// see docs/vmtrace.md and src/anon/tree.ts\n')).toEqual([]);
  });

  it('catch a module specifier that climbs out', () => {
    expect(findEscapes('src/a.ts', `import x from '${UP}${UP}outside.js';\n`)).toHaveLength(1);
  });

  it('check link targets and anchors', () => {
    const docs: Record<string, string> = {
      'README.md': '[ok](docs/a.md#the-zero-page) [no anchor](docs/a.md#nowhere) [gone](docs/b.md) [dir](docs/) [web](https://example.org/x) [self](#intro)\n# Intro\n',
      'docs/a.md': '# A\n## The `zero` page\n',
    };
    const files = new Set(Object.keys(docs));
    expect(show(findBrokenLinks('README.md', docs['README.md']!, files, (f) => docs[f]!))).toEqual([
      "README.md:1: link 'docs/a.md#nowhere': docs/a.md has no heading with anchor '#nowhere'",
      "README.md:1: link 'docs/b.md': no such file in the repository (docs/b.md)",
    ]);
  });

  it('ignore links in code', () => {
    expect(markdownLinks('```\n[x](nope.md)\n```\n    [y](nope.md)\n`[z](nope.md)`\n')).toEqual([]);
  });

  it('slug headings as GitHub does', () => {
    expect(slug('Kernels without the shared zero page')).toBe('kernels-without-the-shared-zero-page');
    expect(slug('`maps`')).toBe('maps');
    expect(slug('vmtrace v1: the trace language')).toBe('vmtrace-v1-the-trace-language');
    expect(slug('fork, exit, reclaim')).toBe('fork-exit-reclaim');
    expect([...anchors('# A\n# A\n')]).toEqual(['a', 'a-1']);
  });
});

describe('the repository', () => {
  const files = trackedFiles();
  const fileSet = new Set(files);
  const read = (f: string): string => readFileSync(path.join(ROOT, f), 'utf8');

  it('is found (tracked files include README.md and this test)', () => {
    expect(fileSet.has('README.md')).toBe(true);
    expect(fileSet.has('test/standalone.test.ts')).toBe(true);
  });

  it('has no path or link that leads outside it', () => {
    const checked = files.filter((f) => statSync(path.join(ROOT, f)).isFile() && isCheckedText(f));
    expect(checked.length).toBeGreaterThan(50);
    expect(show(checked.flatMap((f) => findEscapes(f, read(f))))).toEqual([]);
  });

  it('has no broken relative link in README.md and docs/*.md', () => {
    const docs = files.filter((f) => f === 'README.md' || /^docs\/[^/]+\.md$/.test(f));
    expect(docs).toContain('docs/vmtrace.md');
    expect(show(docs.flatMap((f) => findBrokenLinks(f, read(f), fileSet, read)))).toEqual([]);
  });
});

describe('docs/vmtrace.md', () => {
  it("shows, as its first example, the trace and output the tests run (test/spec-example.ts)", () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'vmtrace.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n## A first trace'));
    // Indented code blocks: runs of lines starting with four spaces.
    const blocks = [...section.matchAll(/(?:^ {4}.*\n)+/gm)].map((m) => m[0].replace(/^ {4}/gm, ''));
    expect(blocks[0]).toBe(SPEC_EXAMPLE);
    expect(blocks[1]).toBe(SPEC_EXAMPLE_OUTPUT);
  });
});
