// The anonymous-memory designs a machine can run. A new design is a new
// module implementing AnonDesign, registered here.

import { AnonVmaDesign } from './anon-vma.js';
import { AnonVmaChainDesign } from './anon-vma-chain.js';
import { AnonVmaLazyDesign } from './anon-vma-lazy.js';
import { CowContextDesign } from './cow-context.js';
import type { AnonDesignFactory } from './design.js';
import { PteChainDesign } from './pte-chain.js';
import { ScanDesign } from './scan.js';
import { ShadowDesign } from './shadow.js';
import { TreeDesign } from './tree.js';

export const DESIGNS: Readonly<Record<string, AnonDesignFactory>> = {
  tree: (frames, opts) => new TreeDesign(frames, opts),
  scan: (frames, _opts, ctx) => new ScanDesign(frames, ctx),
  'anon-layer': (frames, opts) => new AnonVmaDesign(frames, opts),
  'anon-vma-chain': (frames, opts) => new AnonVmaChainDesign(frames, opts),
  shadow: (frames, opts) => new ShadowDesign(frames, opts),
  'pte-chain': (frames) => new PteChainDesign(frames),
  'cow-context': (frames, opts) => new CowContextDesign(frames, opts),
  'anon-vma-lazy': (frames, opts) => new AnonVmaLazyDesign(frames, opts),
};

export const DEFAULT_DESIGN = 'tree';

export type { AnonDesign, AnonDesignFactory, CowContextEarlyExit, CowContextSwapIn, DesignContext, DesignOptions } from './design.js';
