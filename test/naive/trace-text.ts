// A small, independent vmtrace reader and writer for the tests (the project's
// own parser lives in src/ and is not used here, so that the tests do not
// depend on it). It accepts well-formed traces; it is not a validator.

import type { Advice, Command, Prot } from '../../src/trace/ast.js';

const PROTS = new Set(['none', 'r', 'rw', 'rx', 'rwx']);
const ADVICES = new Set(['dontneed', 'dontfork', 'dofork', 'wipeonfork', 'keeponfork']);

function num(tok: string | undefined, where: string): bigint {
  if (tok === undefined) throw new Error(`${where}: missing number`);
  if (/^0x[0-9a-fA-F]+$/.test(tok) || /^[0-9]+$/.test(tok)) return BigInt(tok);
  throw new Error(`${where}: bad number ${tok}`);
}

function val(tok: string | undefined, where: string): number {
  const v = num(tok, where);
  if (v >= 1n << 32n) throw new Error(`${where}: VAL too large`);
  return Number(v);
}

/** Parse trace text into commands, keeping 1-based line numbers. */
export function parseVmt(text: string, name = 'trace'): Command[] {
  const out: Command[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const where = `${name}:${line}`;
    const t = lines[i]!.replace(/\r$/, '').replace(/#.*$/, '').trim().split(/[ \t]+/).filter((s) => s !== '');
    if (t.length === 0) continue;
    const [a, b, c, d, e, f, g, h] = t;
    switch (a) {
      case 'file': out.push({ line, kind: 'file', file: b!, size: num(c, where) }); continue;
      case 'fwrite': out.push({ line, kind: 'fwrite', file: b!, off: num(c, where), val: val(d, where) }); continue;
      case 'fread': out.push({ line, kind: 'fread', file: b!, off: num(c, where) }); continue;
      case 'ftruncate': out.push({ line, kind: 'ftruncate', file: b!, size: num(c, where) }); continue;
      case 'spawn': out.push({ line, kind: 'spawn', proc: b! }); continue;
      case 'fork': out.push({ line, kind: 'fork', proc: b!, child: c! }); continue;
      case 'exit': out.push({ line, kind: 'exit', proc: b! }); continue;
      case 'frames': out.push({ line, kind: 'frames' }); continue;
      case 'reclaim': out.push({ line, kind: 'reclaim', count: num(b, where) }); continue;
    }
    const proc = a!;
    switch (b) {
      case 'mmap': {
        if (!PROTS.has(e!)) throw new Error(`${where}: bad prot ${e}`);
        const mode = f ?? '';
        const m = /^(private|shared)(,fixed)?$/.exec(mode);
        if (!m) throw new Error(`${where}: bad mode ${mode}`);
        const cmd: Command = {
          line, kind: 'mmap', proc, addr: num(c, where), len: num(d, where), prot: e as Prot,
          shared: m[1] === 'shared', fixed: m[2] !== undefined,
        };
        if (g !== undefined) { cmd.file = g; cmd.off = num(h, where); }
        out.push(cmd);
        continue;
      }
      case 'munmap': out.push({ line, kind: 'munmap', proc, addr: num(c, where), len: num(d, where) }); continue;
      case 'mprotect':
        if (!PROTS.has(e!)) throw new Error(`${where}: bad prot ${e}`);
        out.push({ line, kind: 'mprotect', proc, addr: num(c, where), len: num(d, where), prot: e as Prot });
        continue;
      case 'mremap': {
        const cmd: Command = { line, kind: 'mremap', proc, addr: num(c, where), oldLen: num(d, where), newLen: num(e, where) };
        if (f !== undefined) cmd.newAddr = num(f, where);
        out.push(cmd);
        continue;
      }
      case 'madvise':
        if (!ADVICES.has(e!)) throw new Error(`${where}: bad advice ${e}`);
        out.push({ line, kind: 'madvise', proc, addr: num(c, where), len: num(d, where), advice: e as Advice });
        continue;
      case 'read': out.push({ line, kind: 'read', proc, addr: num(c, where) }); continue;
      case 'write': out.push({ line, kind: 'write', proc, addr: num(c, where), val: val(d, where) }); continue;
      case 'maps': out.push({ line, kind: 'maps', proc }); continue;
    }
    throw new Error(`${where}: unknown command ${t.join(' ')}`);
  }
  return out;
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** One command as trace text. */
export function printVmtCommand(c: Command): string {
  switch (c.kind) {
    case 'file': return `file ${c.file} ${hex(c.size)}`;
    case 'fwrite': return `fwrite ${c.file} ${hex(c.off)} ${c.val}`;
    case 'fread': return `fread ${c.file} ${hex(c.off)}`;
    case 'ftruncate': return `ftruncate ${c.file} ${hex(c.size)}`;
    case 'spawn': return `spawn ${c.proc}`;
    case 'fork': return `fork ${c.proc} ${c.child}`;
    case 'exit': return `exit ${c.proc}`;
    case 'frames': return 'frames';
    case 'reclaim': return `reclaim ${c.count}`;
    case 'mmap': {
      const base = `${c.proc} mmap ${hex(c.addr)} ${hex(c.len)} ${c.prot} ${c.shared ? 'shared' : 'private'}${c.fixed ? ',fixed' : ''}`;
      return c.file === undefined ? base : `${base} ${c.file} ${hex(c.off ?? 0n)}`;
    }
    case 'munmap': return `${c.proc} munmap ${hex(c.addr)} ${hex(c.len)}`;
    case 'mprotect': return `${c.proc} mprotect ${hex(c.addr)} ${hex(c.len)} ${c.prot}`;
    case 'mremap': {
      const base = `${c.proc} mremap ${hex(c.addr)} ${hex(c.oldLen)} ${hex(c.newLen)}`;
      return c.newAddr === undefined ? base : `${base} ${hex(c.newAddr)}`;
    }
    case 'madvise': return `${c.proc} madvise ${hex(c.addr)} ${hex(c.len)} ${c.advice}`;
    case 'read': return `${c.proc} read ${hex(c.addr)}`;
    case 'write': return `${c.proc} write ${hex(c.addr)} ${c.val}`;
    case 'maps': return `${c.proc} maps`;
  }
}

/** Commands as trace text, one per line (line numbers become 1..n when re-read). */
export function printVmt(cmds: readonly Command[]): string {
  return cmds.map((c) => `${printVmtCommand(c)}\n`).join('');
}

/** Renumber commands 1..n (as they would be when read back from printVmt()). */
export function renumber(cmds: readonly Command[]): Command[] {
  return cmds.map((c, i) => ({ ...c, line: i + 1 }));
}

/** Results as the spec prints them: `LINE BODY` per command. */
export function formatResults(cmds: readonly Command[], bodies: readonly string[]): string {
  return cmds.map((c, i) => `${c.line} ${bodies[i]}\n`).join('');
}
