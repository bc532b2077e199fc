// The generator's main loop: draw an action by the profile's weights, carry
// it out, until `ops` commands are out.
//
// Why a dispatcher of its own: this is where the policy (policy.ts) meets the
// mechanisms (choosers, scenarios, the model), and where the fall-backs live
// that keep a trace lively: a full process table exits instead of spawning,
// an empty one spawns instead of exiting, a process with nothing mapped
// mostly maps something first. Every draw happens in a fixed order, which is
// what makes a seed reproducible.

import type { Command } from '../ast.js';
import { PAGE_SIZE_BIG as PAGE, U64 } from '../../mm/constants.js';
import { Choosers } from './choosers.js';
import { addrOf } from './pages.js';
import { MAX_FILES, MAX_LIVE, PROFILE_WEIGHTS, PROT_WEIGHTS, type Action, type Profile } from './policy.js';
import type { Rng } from './rng.js';
import { Scenarios } from './scenarios.js';
import { Model } from './vma-model.js';

export class Generator {
  private readonly m: Model;
  private readonly c: Choosers;
  private readonly s: Scenarios;

  constructor(
    private readonly rng: Rng,
    private readonly profile: Profile,
    quirks: boolean,
    ops: number,
    sink: (cmd: Command) => void,
  ) {
    this.m = new Model(quirks, ops, sink);
    this.c = new Choosers(rng, this.m, profile);
    this.s = new Scenarios(rng, this.m, this.c, profile, quirks);
  }

  run(): void {
    const weights = PROFILE_WEIGHTS[this.profile];
    while (!this.m.full) {
      const action = this.rng.weighted<Action>(weights);
      this.act(action);
    }
  }

  private act(action: Action): void {
    const r = this.rng;
    const m = this.m;
    const c = this.c;
    const maxLive = MAX_LIVE[this.profile];
    const memoryOp = action === 'munmap' || action === 'mprotect' || action === 'madvise' || action === 'mremap'
      || action === 'read' || action === 'write';
    // A process with nothing mapped mostly maps something first.
    if (memoryOp && m.procs.length > 0 && m.procs.every((p) => p.pages.size === 0) && r.chance(0.8)) {
      action = r.chance(0.6) ? 'mmap' : 'mmapFile';
    }
    switch (action) {
      case 'spawn':
        if (m.procs.length >= maxLive) return this.act('exit');
        m.spawn();
        return;
      case 'fork':
        if (m.procs.length >= maxLive) return this.act('exit');
        m.fork(c.proc());
        return;
      case 'forkChain': {
        let p = c.proc();
        const n = r.range(2, 4);
        for (let i = 0; i < n && !m.full && m.procs.length < maxLive + 2; i++) {
          p = m.fork(p);
          this.s.writeSomewhere(p);
        }
        return;
      }
      case 'forkTree': {
        const p = c.proc();
        const n = r.range(2, 3);
        for (let i = 0; i < n && !m.full && m.procs.length < maxLive + 2; i++) {
          const child = m.fork(p);
          this.s.writeSomewhere(child);
          if (r.chance(0.5)) this.s.readSomewhere(child);
        }
        return;
      }
      case 'exit':
        if (m.procs.length === 0) return this.act('spawn');
        m.exit(r.pick(m.procs));
        return;
      case 'file':
        if (m.files.length >= MAX_FILES) return this.act('fwrite');
        m.newFile(c.fileSize());
        return;
      case 'fwrite': {
        const f = c.file();
        m.fwrite(f, c.fileOffset(f), c.value());
        return;
      }
      case 'fread': {
        const f = c.file();
        m.fread(f, c.fileOffset(f));
        return;
      }
      case 'ftruncate': {
        const f = c.file();
        m.ftruncate(f, c.fileSize(f));
        return;
      }
      case 'mmap':
      case 'mmapFile': {
        const p = c.proc();
        const [s, n] = c.mmapTarget(p);
        let len = BigInt(n) * PAGE;
        if (r.chance(0.1)) len -= BigInt(r.range(1, 4095));
        const prot = r.weighted(PROT_WEIGHTS);
        const shared = r.chance(action === 'mmapFile' ? 0.5 : 0.3);
        const fixed = r.chance(0.25);
        if (action === 'mmapFile') {
          const f = c.file();
          m.mmap(p, addrOf(s), len, prot, shared, fixed, f, c.mapOffset(f));
        } else {
          m.mmap(p, addrOf(s), len, prot, shared, fixed);
        }
        return;
      }
      case 'munmap': {
        const p = c.proc();
        const [s, n] = c.rangeTarget(p, 1);
        let len = BigInt(n) * PAGE;
        if (r.chance(0.1)) len -= BigInt(r.range(1, 4095));
        m.munmap(p, addrOf(s), len);
        return;
      }
      case 'mprotect': {
        const p = c.proc();
        const [s, n] = c.rangeTarget(p, 0);
        let len = BigInt(n) * PAGE;
        if (n > 0 && r.chance(0.1)) len -= BigInt(r.range(1, 4095));
        m.mprotect(p, addrOf(s), len, r.weighted(PROT_WEIGHTS));
        return;
      }
      case 'madvise': {
        const p = c.proc();
        const [s, n] = c.rangeTarget(p, 0);
        let len = BigInt(n) * PAGE;
        if (n > 0 && r.chance(0.1)) len -= BigInt(r.range(1, 4095));
        m.madvise(p, addrOf(s), len, c.advice());
        return;
      }
      case 'mremap':
        this.s.mremapAction(c.proc());
        return;
      case 'read':
        this.s.readSomewhere(c.proc());
        return;
      case 'write':
        this.s.writeSomewhere(c.proc());
        return;
      case 'maps':
        m.emit({ kind: 'maps', line: 0, proc: c.proc().name });
        return;
      case 'frames':
        m.emit({ kind: 'frames', line: 0 });
        return;
      case 'reclaim': {
        const k = r.int(10);
        const count = k < 6 ? BigInt(r.range(0, 64)) : k < 8 ? BigInt(r.range(65, 100000)) : k < 9 ? U64 : BigInt(r.u32()) << 32n;
        m.emit({ kind: 'reclaim', line: 0, count });
        return;
      }
      case 'invalid':
        this.s.invalid(c.proc());
        return;
      case 'cow':
        this.s.cow();
        return;
      case 'truncate':
        this.s.truncate();
        return;
      case 'protect':
        this.s.protect();
        return;
    }
  }
}
