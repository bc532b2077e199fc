// The anonymous-memory designs a machine can run. A new design is a new
// module implementing AnonDesign, registered here.

import type { AnonDesignFactory } from './design.js';
import { TreeDesign } from './tree.js';

export const DESIGNS: Readonly<Record<string, AnonDesignFactory>> = {
  tree: (frames) => new TreeDesign(frames),
};

export const DEFAULT_DESIGN = 'tree';

export type { AnonDesign, AnonDesignFactory } from './design.js';
