// Multi-step actions: accesses at chosen addresses, the portable (and, with
// quirks, non-portable) kinds of mremap, calls with arguments Linux rejects
// outright, and three scripted scenarios (copy-on-write of file pages,
// truncation under mappings, protection faults).
//
// Why scripted scenarios: random single commands rarely line up the exact
// sequences where designs differ (a private file page written after the file
// changed, a page past EOF after ftruncate, mprotect ending in a hole), so
// these lay them out on purpose, with random values and placement.

import { PAGE_SIZE_BIG as PAGE, TASK_SIZE_BIG as TASK_SIZE, U64 } from '../../mm/constants.js';
import type { Choosers } from './choosers.js';
import { addrOf, runs, WIN_PAGES, type Proc } from './pages.js';
import { MAX_FILES, MAX_LIVE, MREMAP_WEIGHTS, PROT_WEIGHTS, type Profile } from './policy.js';
import type { Rng } from './rng.js';
import type { Model } from './vma-model.js';

export class Scenarios {
  constructor(
    private readonly rng: Rng,
    private readonly m: Model,
    private readonly c: Choosers,
    private readonly profile: Profile,
    private readonly quirks: boolean,
  ) {}

  readSomewhere(p: Proc): void {
    this.m.read(p, this.c.accessAddr(p));
  }

  writeSomewhere(p: Proc): void {
    this.m.write(p, this.c.accessAddr(p), this.c.value());
  }

  mremapAction(p: Proc): void {
    const r = this.rng;
    const m = this.m;
    const c = this.c;
    const rs = runs(p);
    const k = r.int(20);
    if (rs.length === 0 || k === 0) {
      // Rejected before any vma is looked at.
      const pg = c.somePage();
      const v = r.int(3);
      if (v === 0) m.mremap(p, addrOf(pg), PAGE, 0n);
      else if (v === 1) m.mremap(p, addrOf(pg) + BigInt(r.range(1, 4095)), PAGE, 2n * PAGE);
      else m.mremap(p, addrOf(pg), PAGE, U64 - BigInt(r.int(4095))); // PAGE_ALIGN wraps to 0
      return;
    }
    if (this.quirks && k < 4) {
      // Any range: several vmas, holes, a start in a hole.
      const [s, n] = c.rangeTarget(p, 1);
      const newPages = c.clampLen(s, r.range(1, n + 2));
      if (r.chance(0.5)) {
        m.mremap(p, addrOf(s), BigInt(n) * PAGE, BigInt(newPages) * PAGE);
      } else {
        const d = c.freeSpot(p, newPages, s, s + n);
        if (d !== undefined) m.mremap(p, addrOf(s), BigInt(n) * PAGE, BigInt(newPages) * PAGE, addrOf(d));
      }
      return;
    }
    const run = r.pick(rs);
    // The old range: the whole run or a piece of it.
    let s = run.s;
    let e = run.e;
    if (r.chance(0.4) && e - s > 1) {
      s = r.range(run.s, run.e - 1);
      e = r.range(s + 1, run.e);
    }
    const os = e - s;
    let oldLen = BigInt(os) * PAGE;
    if (r.chance(0.1)) oldLen -= BigInt(r.range(1, 4095));
    const v = r.weighted(MREMAP_WEIGHTS);
    switch (v) {
      case 'shrink': {
        if (os < 2) return m.mremap(p, addrOf(s), oldLen, PAGE);
        const ns = BigInt(r.range(1, os - 1)) * PAGE;
        m.mremap(p, addrOf(s), oldLen, r.chance(0.2) ? ns - BigInt(r.range(1, 4095)) : ns);
        return;
      }
      case 'same':
        m.mremap(p, addrOf(s), oldLen, BigInt(os) * PAGE);
        return;
      case 'grow': {
        const ns = Math.min(os + r.range(1, 3), WIN_PAGES - s);
        m.mremap(p, addrOf(s), oldLen, BigInt(ns) * PAGE);
        return;
      }
      case 'move':
      case 'moveOver': {
        const ns = r.chance(0.6) ? os : Math.max(1, os + r.range(-2, 3));
        const d = v === 'move' ? c.freeSpot(p, ns, s, e) : c.overSpot(p, ns, s, e);
        if (d === undefined) return m.mremap(p, addrOf(s), oldLen, BigInt(os) * PAGE);
        m.mremap(p, addrOf(s), oldLen, BigInt(ns) * PAGE, addrOf(d));
        return;
      }
      case 'overlap': {
        // Old and new ranges overlap: EINVAL before anything changes.
        const ns = os + r.range(0, 2);
        const d = Math.max(0, s - r.range(0, os - 1));
        if (d + ns > WIN_PAGES) return m.mremap(p, addrOf(s), oldLen, 0n);
        m.mremap(p, addrOf(s), BigInt(os) * PAGE, BigInt(ns) * PAGE, addrOf(d));
        return;
      }
      case 'view': {
        // OLDLEN 0: a second view of a shared mapping; EINVAL if private.
        const ns = r.range(1, 3);
        const d = c.freeSpot(p, ns, run.s, run.e);
        if (d === undefined) return;
        m.mremap(p, addrOf(s), 0n, BigInt(ns) * PAGE, addrOf(d));
        return;
      }
      case 'viewInPlace':
        // OLDLEN 0 without NEWADDR: ENOMEM (shared) or EINVAL (private).
        m.mremap(p, addrOf(s), 0n, BigInt(c.clampLen(s, r.range(1, 2))) * PAGE);
        return;
      case 'newAddrBad': {
        // Unaligned, or past the user address space: EINVAL.
        const target = r.chance(0.5)
          ? addrOf(c.somePage()) + BigInt(r.range(1, 4095))
          : r.pick([TASK_SIZE, TASK_SIZE + PAGE, 0x800000000000n, U64 - PAGE + 1n]);
        m.mremap(p, addrOf(s), oldLen, BigInt(os) * PAGE, target);
        return;
      }
    }
  }

  /** Arguments Linux rejects outright (portable even though outside the window). */
  invalid(p: Proc): void {
    const r = this.rng;
    const m = this.m;
    const c = this.c;
    const inWin = addrOf(c.somePage());
    const huge = r.pick([TASK_SIZE, TASK_SIZE + PAGE, 0x800000000000n, U64 - PAGE + 1n]);
    // Lengths that wrap past 2^64 from any address used here.
    const wrap = r.pick([U64, U64 - PAGE + 1n, U64 - 0x10000n]);
    const unaligned = inWin + BigInt(r.range(1, 4095));
    const prot = r.weighted(PROT_WEIGHTS);
    switch (r.int(16)) {
      case 0: return m.mmap(p, 0n, PAGE * BigInt(r.range(1, 2)), prot, r.chance(0.5), r.chance(0.5)); // EPERM
      case 1: return m.mmap(p, unaligned, PAGE, prot, r.chance(0.5), r.chance(0.5));
      case 2: return m.mmap(p, inWin, 0n, prot, r.chance(0.5), r.chance(0.5));
      case 3: return m.mmap(p, huge, PAGE, prot, r.chance(0.5), r.chance(0.5));
      case 4: return m.mmap(p, inWin, wrap, prot, r.chance(0.5), r.chance(0.5));
      case 5: {
        const f = c.file();
        const off = r.chance(0.5) ? BigInt(r.range(1, 4095)) : r.pick([1n << 63n, U64 - PAGE + 1n]);
        return m.mmap(p, inWin, PAGE, prot, r.chance(0.5), r.chance(0.5), f, off);
      }
      case 6: return m.munmap(p, unaligned, PAGE);
      case 7: return m.munmap(p, inWin, 0n);
      case 8: return m.munmap(p, r.chance(0.5) ? huge : inWin, r.chance(0.5) ? wrap : PAGE);
      case 9: return m.mprotect(p, unaligned, PAGE, prot);
      case 10: return m.mprotect(p, r.chance(0.5) ? huge : inWin, r.chance(0.5) ? wrap : PAGE, prot);
      case 11: return m.madvise(p, unaligned, PAGE, c.advice());
      case 12: return m.madvise(p, r.chance(0.5) ? huge : inWin, r.chance(0.5) ? wrap : PAGE, c.advice());
      case 13: return m.mprotect(p, inWin, 0n, prot);
      case 14: return m.madvise(p, inWin, 0n, c.advice());
      default: {
        const v = r.int(3);
        if (v === 0) return m.mremap(p, inWin, PAGE, 0n);
        if (v === 1) return m.mremap(p, unaligned, PAGE, PAGE);
        return m.mremap(p, inWin, PAGE, U64 - BigInt(r.int(4095))); // PAGE_ALIGN wraps to 0
      }
    }
  }

  /** fwrite/fread/read/write around a private and a shared file mapping, before and after COW. */
  cow(): void {
    const r = this.rng;
    const m = this.m;
    const c = this.c;
    const p = c.proc();
    let f = c.file();
    if (f.size < 2n * PAGE || f.size >= 1n << 44n) {
      if (r.chance(0.5) && m.files.length < MAX_FILES) f = m.newFile(2n * PAGE + BigInt(r.int(3)) * PAGE);
      else m.ftruncate(f, 2n * PAGE + BigInt(r.int(2)) * 0x800n);
    }
    const [s, fixed] = c.slot(p, 2);
    const a = addrOf(s);
    const o = BigInt(r.range(0, 1023)) * 4n;
    m.mmap(p, a, 2n * PAGE, r.chance(0.8) ? 'rw' : 'r', false, fixed, f, 0n);
    m.fwrite(f, o, c.value());
    m.read(p, a + o);
    m.write(p, a + o, c.value()); // copy-on-write (or SIGSEGV if read-only)
    m.fwrite(f, o, c.value());
    m.read(p, a + o);
    m.fread(f, o);
    m.read(p, a + PAGE + o);
    m.fwrite(f, PAGE + o, c.value());
    m.read(p, a + PAGE + o);
    if (m.full) return;
    const [s2, fixed2] = c.slot(p, 2);
    const b = addrOf(s2);
    m.mmap(p, b, 2n * PAGE, 'rw', true, fixed2, f, 0n);
    m.write(p, b + o, c.value());
    m.fread(f, o);
    m.read(p, a + o);
    if (m.procs.length < MAX_LIVE[this.profile] + 2) {
      const child = m.fork(p);
      m.write(child, a + PAGE + o, c.value());
      m.read(p, a + PAGE + o);
      m.write(child, b + PAGE + o, c.value());
      m.fread(f, PAGE + o);
    }
  }

  /** Shrink a mapped file under shared and private mappings, touch past EOF, grow it again. */
  truncate(): void {
    const r = this.rng;
    const m = this.m;
    const c = this.c;
    const p = c.proc();
    const f = m.files.length < MAX_FILES ? m.newFile(3n * PAGE) : r.pick(m.files);
    if (f.size !== 3n * PAGE) m.ftruncate(f, 3n * PAGE);
    const [s, fixed] = c.slot(p, 3);
    const [s2, fixed2] = c.slot(p, 3);
    const a = addrOf(s);
    const b = addrOf(s2);
    m.mmap(p, a, 3n * PAGE, 'rw', true, fixed, f, 0n);
    m.mmap(p, b, 3n * PAGE, 'rw', false, fixed2, f, 0n);
    m.write(p, a + 2n * PAGE + 8n, c.value());
    m.write(p, a + PAGE + 0xff0n, c.value());
    m.write(p, b + PAGE + 0xff0n, c.value());
    const cut = PAGE + BigInt(r.range(0, 0x3ff)) * 4n;
    m.ftruncate(f, cut);
    m.read(p, a + 2n * PAGE + 8n); // SIGBUS
    m.read(p, a + PAGE + 0xff0n); // zeroed past EOF in the page cache
    m.read(p, b + PAGE + 0xff0n); // the private copy keeps its bytes
    m.read(p, b + 2n * PAGE); // SIGBUS
    m.write(p, a + PAGE + 0xffcn, c.value()); // past EOF inside the last page
    m.fread(f, cut - (cut % 4n));
    m.ftruncate(f, 3n * PAGE + BigInt(r.int(2)) * PAGE);
    m.read(p, a + PAGE + 0xffcn); // ext4 zeroes it on growth
    m.read(p, a + 2n * PAGE + 8n);
    m.read(p, b + 2n * PAGE);
  }

  /** Writes to read-only and `none` pages, mprotect across a hole. */
  protect(): void {
    const r = this.rng;
    const m = this.m;
    const c = this.c;
    const p = c.proc();
    const [s, fixed] = c.slot(p, 4);
    const a = addrOf(s);
    m.mmap(p, a, 4n * PAGE, 'rw', r.chance(0.3), fixed);
    m.write(p, a + 4n, c.value());
    m.mprotect(p, a, PAGE, 'r');
    m.write(p, a + 4n, c.value()); // SIGSEGV
    m.read(p, a + 4n);
    m.mprotect(p, a + PAGE, PAGE, 'none');
    m.read(p, a + PAGE); // SIGSEGV
    m.munmap(p, a + 2n * PAGE, PAGE);
    m.mprotect(p, a + PAGE, 3n * PAGE, 'rw'); // applies to one page, then ENOMEM
    m.write(p, a + PAGE, c.value());
    m.write(p, a + 3n * PAGE, c.value()); // unchanged: still rw
    m.mprotect(p, a + 2n * PAGE, 2n * PAGE, 'r'); // starts in the hole: nothing changes
    m.write(p, a + 3n * PAGE + 4n, c.value());
  }
}
