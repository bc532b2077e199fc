// A design's structures at one moment, as a graph: what `vmtree draw`
// lays out. Each design builds one (AnonDesign.snapshot); everything after
// that — collapsing look-alikes, DOT, SVG — is design-independent.

export type SnapshotNodeKind = 'space' | 'anon_vma' | 'vma' | 'pages';

export interface SnapshotNode {
  /** Unique within the snapshot. */
  id: string;
  kind: SnapshotNodeKind;
  /**
   * What the node is, without who it belongs to: `0x1000-0x3000 rw-p`,
   * `20 pages`, `depth 1`. Nodes that look alike (same kind, lines and
   * subtree) may be drawn as one "×N" node.
   */
  lines: string[];
  /** The process it belongs to (vmas), shown beside the lines. */
  owner?: string;
  /**
   * Its parent in the drawing's main hierarchy: a space's parent space,
   * an anon_vma's parent, the space or anon_vma a vma uses, the vma whose
   * pages a page group is. Absent for a root.
   */
  parent?: string;
}

/** A link outside the hierarchy, drawn dashed. */
export interface SnapshotEdge {
  from: string;
  to: string;
  /** `chain`: an anon_vma_chain link; `shares`: a page group also mapped by this vma. */
  kind: 'chain' | 'shares';
}

export interface DesignSnapshot {
  design: string;
  nodes: SnapshotNode[];
  edges: SnapshotEdge[];
}
